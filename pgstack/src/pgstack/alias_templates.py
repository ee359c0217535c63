"""Django projects with several databases: the template each extra alias is cloned from.

pytest-django gives every alias that is not a ``TEST: {"MIRROR": …}`` (and does not share
its database with another) a test database of its own; pgstack gives each one a
per-worker clone. An alias whose routers let it migrate the same models as "default"
clones "default"'s template; one with other models gets a template of its own, built by
``migrate --database <alias>`` and hashed like any other.
"""

from __future__ import annotations

import psycopg

from pgstack.migrators.django import DjangoMigrator
from pgstack.progress import StreamReport
from pgstack.template import ensure_template
from pgstack.template_spec import TemplateSpec


def alias_specs(spec: TemplateSpec) -> dict[str, TemplateSpec | None]:
    """Each extra alias -> the spec of its own template, or None to clone "default"'s."""
    migrator = spec.migrator
    if not isinstance(migrator, DjangoMigrator):
        return {}
    specs: dict[str, TemplateSpec | None] = {}
    for alias, own in migrator.own_templates().items():
        # Seeds are rows for "default"'s tables; init scripts (roles, extensions) apply.
        own_spec = spec.derived(migrator=migrator.for_alias(alias), seed_files=(), seeder=None)
        specs[alias] = own_spec if own else None
    return specs


def ensure_alias_templates(
    admin_url: str,
    spec: TemplateSpec,
    default_template: str,
    *,
    run_id: str,
    report: StreamReport | None = None,
    private: bool = False,
    conn: psycopg.Connection | None = None,
) -> dict[str, str]:
    """Each extra alias -> the template its clones come from (built if needed);
    ``private`` and ``conn`` as for ``ensure_template``."""
    found = {}
    for alias, own_spec in alias_specs(spec).items():
        if own_spec is None:
            found[alias] = default_template
        else:
            built = ensure_template(
                admin_url, own_spec, run_id=run_id, report=report, private=private, conn=conn
            )
            found[alias] = built.name
    return found


def template_names(spec: TemplateSpec) -> frozenset[str]:
    """The templates a run would use now: ``spec``'s and each extra alias's own."""
    own = {alias_spec.name() for alias_spec in alias_specs(spec).values() if alias_spec}
    return frozenset({spec.name(), *own})
