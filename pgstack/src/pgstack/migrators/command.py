"""Any shell command (``alembic upgrade head`` elsewhere, ``python manage.py migrate``, …).

The command sees the template's coordinates the way the project reads them: the URL
variable, libpq's ``PG*`` variables and every variable of ``[tool.pgstack.env]``. A fresh
process also means settings objects built at import time read the template's coordinates,
which an in-process migration cannot offer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pgstack import environment, urls
from pgstack.settings import Settings
from pgstack.shell_commands import run_command


@dataclass
class CommandMigrator:
    command: str
    cwd: Path
    url_env: str = "DATABASE_URL"
    env: dict[str, str] = field(default_factory=dict)
    timeout: float = Settings.migrate_timeout
    what: str = "Migration command"
    name: str = "command"

    @classmethod
    def from_settings(cls, settings: Settings) -> CommandMigrator:
        assert settings.command is not None  # load_settings checked it
        return cls(
            command=settings.command,
            cwd=settings.command_folder,
            url_env=settings.database_url_env,
            env=settings.env,
            timeout=settings.migrate_timeout,
        )

    def inputs(self) -> list[Path]:
        return []  # what the command reads is declared in schema_inputs

    def key(self) -> str:
        return f"{self.name}:{self.command}"

    def check(self) -> None:
        return None

    def mismatch(self, url: str) -> str | None:
        return None  # what a command did leaves no record pgstack can read

    def migrate(self, url: str) -> None:
        run_command(
            self.command,
            cwd=self.cwd,
            env=environment.for_command(self.env, self.url_env, url),
            what=f"{self.what} (template {urls.describe(url)})",
            timeout=self.timeout,
        )
