"""Render the compose test-stack template and bring a project's files in line with it.

copier renders (``pgstack/compose_template``, or a template given by path or git URL, which
``copier update`` can later update from). The render goes to a scratch folder first, and
only then to the project: a file the project has is never replaced without its diff shown
and ``force`` given, and a second run over an unchanged project writes nothing.
"""

from __future__ import annotations

import difflib
import filecmp
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from pgstack.compose_answers import ANSWERS_FILE, TEMPLATE_KEYS, ComposeInitError


@dataclass
class Plan:
    """What rendering the template into the project would change."""

    created: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    # Files the template writes only when missing (its _skip_if_exists), which the project has.
    kept: list[str] = field(default_factory=list)
    diffs: dict[str, str] = field(default_factory=dict)


def builtin_template() -> Path:
    """The template shipped in pgstack's wheel (copied, never updatable: no git history)."""
    return Path(str(resources.files("pgstack") / "compose_template"))


def render(
    template: str, answers: dict[str, Any], into: Path, vcs_ref: str | None
) -> Callable[[str], bool]:
    """Render ``template`` with ``answers`` into the empty folder ``into`` (copier). Returns
    whether a file is one the template writes only when the project lacks it."""
    try:
        import copier
    except ImportError as exc:
        raise ComposeInitError(
            "pgstack init --compose renders its template with copier, which is not "
            "installed here. Install it: pip install 'pgstack[template]'."
        ) from exc
    try:
        worker = copier.run_copy(
            template,
            into,
            data=answers,
            vcs_ref=vcs_ref,
            defaults=True,
            overwrite=True,
            quiet=True,
            skip_tasks=True,
        )
    except (copier.errors.CopierError, ValueError) as exc:  # ValueError: an invalid answer
        raise ComposeInitError(
            f"The compose template {template} could not be rendered: {exc}. Fix the answer "
            f"named above (--data KEY=VALUE, or {ANSWERS_FILE}) or the template."
        ) from exc
    if template == str(builtin_template()):
        _forget_source(into / ANSWERS_FILE)
    match_skip = worker.match_skip
    return lambda name: bool(match_skip(Path(name)))


def _forget_source(answers: Path) -> None:
    """Drop the path of the wheel's template from the answers file: it names a folder of
    this machine, no other, and copier cannot update from it (no git history). Rendering
    again with a later pgstack is that update."""
    lines = answers.read_text("utf-8").splitlines(keepends=True)
    answers.write_text("".join(x for x in lines if not x.startswith("_src_path:")), "utf-8")


def plan(rendered: Path, dest: Path, kept_if_present: Callable[[str], bool]) -> Plan:
    """Compare the render with the project's files."""
    result = Plan()
    for path in sorted(p for p in rendered.rglob("*") if p.is_file()):
        name = path.relative_to(rendered).as_posix()
        target = dest / name
        if not target.exists():
            result.created.append(name)
        elif kept_if_present(name):
            result.kept.append(name)
        elif _same(path, target, answers=name == ANSWERS_FILE):
            result.unchanged.append(name)
        else:
            result.changed.append(name)
            result.diffs[name] = _diff(target, path, name)
    return result


def apply(rendered: Path, dest: Path, names: list[str]) -> None:
    """Copy the rendered ``names`` into the project (with their modes: the entrypoint runs)."""
    for name in names:
        target = dest / name
        if target.is_symlink() or (target.exists() and not target.is_file()):
            raise ComposeInitError(
                f"{target} is not a regular file; pgstack writes only regular files. Move it "
                "away and run the command again."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(rendered / name, target)


def scratch_folder() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="pgstack-compose-")


def _same(rendered: Path, target: Path, *, answers: bool) -> bool:
    if filecmp.cmp(rendered, target, shallow=False):
        return True
    if not answers:
        return False
    # Where the template came from is not the project's: a render from another checkout or
    # another installed pgstack must not count as a change.
    return bool(_answers_of(rendered) == _answers_of(target))


def _answers_of(path: Path) -> Any:
    try:
        loaded = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    if isinstance(loaded, dict):
        for key in TEMPLATE_KEYS:
            loaded.pop(key, None)
    return loaded


def _diff(target: Path, rendered: Path, name: str) -> str:
    def lines(path: Path) -> list[str]:
        try:
            return path.read_text("utf-8").splitlines(keepends=True)
        except UnicodeDecodeError:
            return ["(binary file)\n"]

    return "".join(
        difflib.unified_diff(
            lines(target), lines(rendered), f"{name} (yours)", f"{name} (the template's)"
        )
    )
