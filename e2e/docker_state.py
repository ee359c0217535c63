"""What the compose e2e tests read back from Docker: a result's tail, a project's leftovers."""

from __future__ import annotations

import subprocess


def tail(result: subprocess.CompletedProcess[str]) -> str:
    """The end of a command's output, for an assertion's message."""
    return (result.stdout + result.stderr)[-4000:]


def leftovers(project: str) -> dict[str, list[str]]:
    """The containers, networks and volumes Docker still has for a compose project."""
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        listing = subprocess.run(
            ["docker", *kind, "-q", "--filter", label], capture_output=True, text=True, check=True
        )
        found[kind[0]] = listing.stdout.split()
    return found
