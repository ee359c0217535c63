"""Run a project's shell command (a migrate or seed step) and show its output if it fails."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path

from pgstack import progress
from pgstack.errors import MigrationFailed, MigrationTimedOut
from pgstack.servers.process import _die_with_parent

SHOWN_LINES = 60


def run_command(
    command: str, *, cwd: Path, env: Mapping[str, str], what: str, timeout: float
) -> None:
    """Run ``command`` through the shell; a non-zero exit or ``timeout`` seconds raise with
    the output's tail.

    Output is captured (it would interleave with pytest's) and shown only on failure; its
    latest line feeds the template build's progress line (``pgstack.progress``). The
    command gets its own process group, so a timeout (or Ctrl-C) stops everything it
    started, not only the shell: a migration left running would keep its locks.
    """
    if not cwd.is_dir():
        raise MigrationFailed(f"{what} `{command}` cannot run: folder {cwd} does not exist.")
    process = subprocess.Popen(  # noqa: S602 - the project's own configured command
        command,
        shell=True,
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
        preexec_fn=_die_with_parent,  # noqa: PLW1509 - also stops if we are killed -9
    )
    chunks: list[bytes] = []
    reader = threading.Thread(target=_read, args=(process, chunks), daemon=True)
    reader.start()
    try:
        process.wait(timeout=timeout)
        reader.join()
        output = b"".join(chunks)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        reader.join(timeout=5)
        raise MigrationTimedOut(
            f"{what} `{command}` (in {cwd}) timed out after {timeout:g} s and was stopped "
            f"(its whole process group killed). Its output{_tail(b''.join(chunks))}\n"
            "If it needs longer, raise migrate_timeout in [tool.pgstack] (or "
            "PGSTACK_MIGRATE_TIMEOUT). If it waits for something (a lock another session "
            "holds, a prompt, a server), run the same command by hand against a scratch "
            "database to find what; no template was kept."
        ) from None
    except BaseException:
        _kill_group(process)
        raise
    if process.returncode == 0:
        return
    raise MigrationFailed(
        f"{what} `{command}` (in {cwd}) exited with status {process.returncode}. "
        f"Its output{_tail(output)}\n"
        "Run the same command by hand against a scratch database to debug it; no template "
        "was kept."
    )


def _read(process: subprocess.Popen[bytes], chunks: list[bytes]) -> None:
    """Collect the output, passing each line on to the template build's progress line."""
    assert process.stdout is not None
    for line in process.stdout:
        chunks.append(line)
        progress.note(line.decode(errors="replace"))


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the command and everything it started (they share its process group)."""
    with contextlib.suppress(ProcessLookupError):  # already gone, with all it started
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(output: bytes | None) -> str:
    """The output's last lines, saying how many were left out."""
    lines = (output or b"").decode(errors="replace").rstrip().splitlines()
    shown = lines[-SHOWN_LINES:]
    cut = f" (last {len(shown)} of {len(lines)} lines)" if len(lines) > len(shown) else ""
    body = "\n".join(f"  | {line}" for line in shown) or "  | (no output)"
    return f"{cut}:\n{body}"
