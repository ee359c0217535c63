"""A full disk under PostgreSQL: how to spot it in an error, and what to tell the user.

The embedded cluster lives on a tmpfs by default, which fills up with memory; the compose db
keeps its data on one too.
"""

from __future__ import annotations

import shutil

NO_SPACE = "No space left on device"
# PostgreSQL's own words for it (SQLSTATE 53100, psycopg.errors.DiskFull)
_DISK_FULL = (NO_SPACE, "DiskFull", "Check free disk space.")


def mentioned_in(text: str) -> bool:
    return any(marker in text for marker in _DISK_FULL)


def hint(tmp_dir: str | None) -> str:
    """What to do when PostgreSQL (or a copy of its cluster) ran out of space."""
    if not tmp_dir:
        return (
            "The database server's disk is full. For the compose db, its data lives on a "
            "tmpfs in the container's memory: give the container more memory, or make the "
            "tests write less."
        )
    try:
        usage = shutil.disk_usage(tmp_dir)
        room = f" ({usage.free // 2**20} MB free of {usage.total // 2**20} MB)"
    except OSError:
        room = ""
    return (
        f"{tmp_dir}{room} is full: the embedded PostgreSQL keeps its data there. Give it "
        "more room (a bigger tmpfs; /dev/shm is sized by the machine or by the container's "
        "shm_size), or set PGSTACK_TMP_DIR to a folder with space."
    )
