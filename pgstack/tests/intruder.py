"""A second local account, made by the test run, that tries to get into what pgstack starts.

The security tests prove "nobody else gets in" from outside: as a real, different account
(``useradd``), running the machine's own ``/usr/bin/python3`` with no pgstack, no psycopg
and no redis-py, so nothing it does borrows this run's privileges or libraries. Its
probes speak the wire protocols directly.
"""

from __future__ import annotations

import fcntl
import os
import pwd
import shutil
import subprocess
import textwrap
from dataclasses import dataclass
from pathlib import Path

ACCOUNT = "pgstack-intruder"
_LOCK = Path("/run/lock/pgstack-intruder.lock")

# Asks a Postgres server to log in as `user` and prints what it answers: "ok" when it
# lets the account in without a password (trust), "password" when it asks for one,
# "refused <message>" when it turns the account away.
_POSTGRES_PROBE = r"""
import socket, struct, sys
host, port, user = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection((host, port), timeout=10)
body = struct.pack("!i", 196608) + b"user\0" + user.encode() + b"\0database\0postgres\0\0"
s.sendall(struct.pack("!i", len(body) + 4) + body)
kind = s.recv(1)
length = struct.unpack("!i", s.recv(4))[0]
payload = s.recv(length - 4)
if kind == b"R":
    code = struct.unpack("!i", payload[:4])[0]
    print("ok" if code == 0 else "password")
else:
    print("refused", payload.replace(b"\0", b" ").decode(errors="replace"))
"""

# Sends one Redis command (inline protocol) and prints the first line of the reply.
_REDIS_PROBE = r"""
import socket, sys
port, command = int(sys.argv[1]), " ".join(sys.argv[2:])
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(command.encode() + b"\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode(errors="replace"))
"""


class AccountUnavailable(Exception):
    """The second account could not be made: the security tests cannot prove anything."""


@dataclass(frozen=True)
class Intruder:
    """Another local account on the machine, with nothing but the system's Python."""

    name: str
    uid: int
    python: str
    runuser: str

    def run(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """Run a command as this account, from /, with a bare environment."""
        return subprocess.run(
            [self.runuser, "-u", self.name, "--", *argv],
            capture_output=True,
            text=True,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"},
            timeout=timeout,
            check=False,
        )

    def python_code(self, code: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(self.python, "-c", textwrap.dedent(code), *args)

    def postgres_login(self, host: str, port: int, user: str = "postgres") -> str:
        """What a Postgres server answers this account's login: ok, password or refused."""
        done = self.python_code(_POSTGRES_PROBE, host, str(port), user)
        return (done.stdout + done.stderr).strip()

    def redis_command(self, port: int, *command: str) -> str:
        """The first line of a Redis server's reply to this account's command."""
        done = self.python_code(_REDIS_PROBE, str(port), *command)
        return (done.stdout + done.stderr).strip()


def make_intruder() -> Intruder:
    """The account, created on first use (``useradd``, no home, no login shell).

    It is kept between runs: creating and deleting accounts under several xdist workers
    at once would race, and an account with no home and no shell holds nothing.
    """
    python = shutil.which("python3", path="/usr/bin:/bin")
    if python is None:
        raise AccountUnavailable(
            "the security tests need /usr/bin/python3 for their second account; install python3"
        )
    runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
    if runuser is None:
        raise AccountUnavailable(
            "the security tests need runuser (util-linux) to act as a second account"
        )
    if os.geteuid() != 0:
        raise AccountUnavailable(
            "the security tests create a second local account with useradd and run as it: "
            "run them as root (CI does), e.g. in a container"
        )
    _LOCK.parent.mkdir(parents=True, exist_ok=True)
    with open(_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = pwd.getpwnam(ACCOUNT)
        except KeyError:
            done = subprocess.run(
                [
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    ACCOUNT,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise AccountUnavailable(
                    f"useradd {ACCOUNT} failed ({done.returncode}): {done.stderr.strip()}"
                ) from None
            entry = pwd.getpwnam(ACCOUNT)
    return Intruder(name=entry.pw_name, uid=entry.pw_uid, python=python, runuser=runuser)
