"""Run a project's shell command (a migrate or seed step) and show its output if it fails."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

from pgstack.errors import MigrationFailed

SHOWN_LINES = 60


def run_command(command: str, *, cwd: Path, env: Mapping[str, str], what: str) -> None:
    """Run ``command`` through the shell; a non-zero exit raises with the output's tail.

    Output is captured (it would interleave with pytest's) and shown only on failure.
    """
    if not cwd.is_dir():
        raise MigrationFailed(f"{what} `{command}` cannot run: folder {cwd} does not exist.")
    result = subprocess.run(  # noqa: S602 - the project's own configured command
        command,
        shell=True,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        check=False,
    )
    if result.returncode == 0:
        return
    lines = result.stdout.rstrip().splitlines()
    shown = lines[-SHOWN_LINES:]
    cut = f" (last {len(shown)} of {len(lines)} lines)" if len(lines) > len(shown) else ""
    output = "\n".join(f"  | {line}" for line in shown) or "  | (no output)"
    raise MigrationFailed(
        f"{what} `{command}` (in {cwd}) exited with status {result.returncode}. "
        f"Its output{cut}:\n{output}\n"
        "Run the same command by hand against a scratch database to debug it; no template "
        "was kept."
    )
