"""The child side of the alembic migrator: ``upgrade heads`` in a fresh interpreter.

A fresh process, because env.py commonly builds its URL from the app's settings object,
created when the app's config module is first imported: in the pytest process that
happened already, with another database's coordinates. Here the environment points at the
template before anything is imported. A connection SQLAlchemy would open to another
database is stopped and noted, so the parent can say where env.py went instead.

Reads a JSON request on stdin and writes a JSON result to the file the request names (its
output stays the migrations' own, for the progress line and the failure message).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from argparse import Namespace
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alembic.config import Config


def main() -> int:
    request = json.loads(sys.stdin.read())
    refused: list[str] = []
    _refuse_elsewhere(refused, request["database"], request["port"])
    result: dict[str, Any] = {"ok": True, "revision": None, "error": None}
    try:
        _upgrade(request)
    except Exception as exc:  # reported by the parent, with the revision that raised
        result.update(
            ok=False,
            revision=_failing_revision(request["config"], exc),
            error=f"{type(exc).__name__}: {' '.join(str(exc).split())}",
        )
    result["elsewhere"] = sorted(set(refused))
    Path(request["result"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


def alembic_config(path: str | Path, x_args: Sequence[str]) -> Config:
    """The Config an ``alembic`` command line with ``-x`` arguments would give env.py."""
    from alembic.config import Config

    config = Config(str(path))
    config.attributes["pgstack"] = True
    # What `alembic -x key=value` gives env.py through context.get_x_argument().
    config.cmd_opts = Namespace(x=list(x_args))
    return config


def _upgrade(request: dict[str, Any]) -> None:
    from alembic import command

    config = alembic_config(request["config"], request["x"])
    # ConfigParser interpolation: a literal % in a password must be doubled.
    config.set_main_option("sqlalchemy.url", request["sqlalchemy_url"].replace("%", "%%"))
    command.upgrade(config, "heads")


class ElsewhereRefused(RuntimeError):
    """A connection to another database than the template, stopped before it opened."""


def _refuse_elsewhere(refused: list[str], database: str, port: str) -> None:
    """Stop every connection an engine opens to another database than the template before
    it opens (migrations meant for the template must not run on a developer's database),
    and note where it went."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def before_connect(dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        params = dict(cparams)
        if cargs and isinstance(cargs[0], str):  # a conninfo string
            from psycopg.conninfo import conninfo_to_dict

            params = {**conninfo_to_dict(cargs[0]), **params}
        to_database = str(params.get("dbname") or params.get("database") or "")
        host = str(params.get("host") or os.environ.get("PGHOST") or "localhost")
        to_port = str(params.get("port") or os.environ.get("PGPORT") or "5432")
        if (to_database, to_port) != (database, port):
            where = f"database {to_database!r} on {host}:{to_port}"
            refused.append(where)
            raise ElsewhereRefused(f"pgstack stopped a connection to {where}")

    event.listen(Engine, "do_connect", before_connect)


def _failing_revision(config_path: str, exc: BaseException) -> str | None:
    """The revision whose file appears last in the traceback (the one that raised)."""
    from alembic.script import ScriptDirectory

    try:
        scripts = ScriptDirectory.from_config(alembic_config(config_path, []))
        by_path = {
            os.path.realpath(script.path): script
            for script in scripts.walk_revisions()
            if script.path is not None
        }
    except Exception:
        return None
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        script = by_path.get(os.path.realpath(frame.filename))
        if script is not None:
            found = f"{script.revision} ({Path(script.path).name}, line {frame.lineno})"
    return found


if __name__ == "__main__":
    sys.exit(main())
