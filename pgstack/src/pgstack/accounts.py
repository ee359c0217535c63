"""The account embedded servers run as: ourselves, or as root a ``pgstack`` system account.

PostgreSQL refuses to run as root. pgstack's private folders let this account in (and
only it), so it sits below both the folders and the servers.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from dataclasses import dataclass

from pgstack.errors import ServerStartFailed

RUN_AS_USER = "pgstack"


@dataclass
class RunAs:
    """The unprivileged account a server runs as when we are root (None: ourselves)."""

    name: str
    uid: int
    gid: int


def unprivileged_account() -> RunAs | None:
    """None when we are not root; else the ``pgstack`` system account, created if missing.

    PostgreSQL refuses to run as root, so as root the cluster belongs to this account.
    """
    if os.geteuid() != 0:
        return None
    try:
        entry = pwd.getpwnam(RUN_AS_USER)
    except KeyError as missing:
        useradd = shutil.which("useradd")
        if useradd is None:
            raise ServerStartFailed(
                "Running as root, PostgreSQL needs an unprivileged account, and `useradd` "
                f"is not available to create {RUN_AS_USER!r}. Create it yourself "
                f"(e.g. `adduser --system {RUN_AS_USER}`) or run the tests as a normal user."
            ) from missing
        result = subprocess.run(
            [useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS_USER],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode not in (0, 9):  # 9: created meanwhile by another process
            raise ServerStartFailed(
                f"Could not create the system account {RUN_AS_USER!r} to run PostgreSQL "
                f"as root: {result.stderr.strip()}"
            ) from missing
        entry = pwd.getpwnam(RUN_AS_USER)
    return RunAs(name=RUN_AS_USER, uid=entry.pw_uid, gid=entry.pw_gid)
