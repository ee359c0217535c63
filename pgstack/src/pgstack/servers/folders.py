"""Whose a server folder is: the pid that made it, the sweep of dead runs' folders, and the
proof that a pid is the server started in a folder (before anyone signals it)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from pgstack.private_dirs import create_file
from pgstack.servers.process import pid_running

OWNER_FILE = "pgstack.owner"


def write_owner(folder: Path) -> None:
    """Record our pid in a server folder: the sweep deletes folders whose owner is gone."""
    create_file(folder / OWNER_FILE, str(os.getpid()))


def sweep_dead(base: Path, prefix: str, server_pid_file: str) -> list[Path]:
    """Delete the folders ``<base>/<prefix>*`` whose owner and server both are gone (a run
    killed with -9). ``server_pid_file`` is where the server wrote its pid (first line)."""
    removed: list[Path] = []
    if not base.is_dir():
        return removed
    for folder in base.glob(prefix + "*"):
        try:
            pid = int((folder / OWNER_FILE).read_text().strip())
        except (OSError, ValueError):
            continue  # not one of ours, or still being created
        if pid_running(pid):
            continue
        try:
            server_pid = int((folder / server_pid_file).read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            server_pid = None
        if server_pid is not None and pid_running(server_pid):
            continue  # still shutting down, or a detached `pgstack up` server
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def runs_in(pid: int, folder: Path, uid: int) -> bool:
    """True when ``pid`` runs as ``uid`` with its working folder inside ``folder``.

    Our servers chdir into their data folder, so this proves a pid is the server we started
    there, not a number reused by (or written down for) another process. False without /proc.
    """
    try:
        if os.stat(f"/proc/{pid}").st_uid != uid:
            return False
        cwd = Path(os.readlink(f"/proc/{pid}/cwd"))
    except OSError:
        return False
    real = Path(os.path.realpath(folder))
    return cwd == real or cwd.is_relative_to(real)
