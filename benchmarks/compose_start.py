"""The compose stack's cold start: `docker compose run --rm tests` on one test, to exit.

Each round starts from nothing (`down -v` before and after), with the images already built
(built here first, never timed). Prints every sample and the median; `make bench` calls
``measure`` when Docker is usable.

    python benchmarks/compose_start.py [--repeat N] [--file docker-compose.test.yml[,override.yml]]
        [--phases] [-- pytest args]

Without a registry, set POSTGRES_IMAGE / REDIS_IMAGE / PYTHON_IMAGE first (the offline
stand-ins: `export $(scripts/build-offline-images.sh)`); unset, this builds them.
``--phases`` adds when the db and runner containers started and the db became healthy
(from `docker events`), counted from the `run` command's start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROJECT = "pgstack-bench"
# One quick test in one process: what is timed is the stack's start, not the suite.
ONE_TEST = ["-p", "no:randomly", "-q", "-n", "0", "-k", "test_health"]


def _compose(compose_file: str) -> list[str]:
    """``compose_file``: one file, or several separated by commas (overrides after it)."""
    files = [arg for name in compose_file.split(",") for arg in ("-f", name)]
    return ["docker", "compose", "-p", PROJECT, *files]


def build_images(compose_file: str = "docker-compose.test.yml") -> None:
    """The base images (offline stand-ins unless POSTGRES_IMAGE is set), then the stack's."""
    if "POSTGRES_IMAGE" not in os.environ:
        images = subprocess.run(
            ["scripts/build-offline-images.sh"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        os.environ.update(line.split("=", 1) for line in images.split() if "=" in line)
    compose = [*_compose(compose_file), "--profile", "tests"]
    subprocess.run([*compose, "build"], cwd=ROOT, capture_output=True, check=True)


def _down(compose_file: str) -> None:
    subprocess.run(
        [*_compose(compose_file), "down", "-v", "--remove-orphans"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )


def one_cold_run(
    compose_file: str = "docker-compose.test.yml",
    pytest_args: list[str] | None = None,
    *,
    phases: bool = False,
) -> tuple[float, dict[str, float]]:
    """Wall time of one cold `run --rm tests`, and (``phases``) when each step happened."""
    _down(compose_file)
    events = None
    if phases:
        events = subprocess.Popen(
            [
                "docker", "events", "--format",
                "{{.TimeNano}}|{{.Action}}|{{.Actor.Attributes.name}}",
                "--filter", f"label=com.docker.compose.project={PROJECT}",
            ],
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        time.sleep(0.3)  # let it subscribe before anything happens
    started = time.time()
    result = subprocess.run(
        [*_compose(compose_file), "run", "--rm", "tests", *(pytest_args or ONE_TEST)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.time() - started
    found: dict[str, float] = {}
    if events is not None:
        time.sleep(0.3)
        events.terminate()
        for line in events.communicate()[0].splitlines():
            stamp, action, name = [*line.split("|", 2), "", ""][:3]
            service = name.removeprefix(f"{PROJECT}-").split("-")[0]
            key = f"{service} {action}"
            if action in {"start", "health_status: healthy", "die"} and key not in found:
                found[key] = int(stamp) / 1e9 - started
    _down(compose_file)
    if result.returncode != 0:
        sys.exit(f"compose_start: the run failed:\n{(result.stdout + result.stderr)[-3000:]}")
    return elapsed, found


def measure(repeat: int, compose_file: str = "docker-compose.test.yml") -> list[float]:
    """``repeat`` cold runs (images built first): their wall times in seconds."""
    build_images(compose_file)
    return [one_cold_run(compose_file)[0] for _ in range(repeat)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--file", default="docker-compose.test.yml")
    parser.add_argument("--phases", action="store_true")
    parser.add_argument("pytest_args", nargs="*")
    args = parser.parse_args()
    build_images(args.file)
    samples = []
    for _ in range(args.repeat):
        elapsed, found = one_cold_run(args.file, args.pytest_args or None, phases=args.phases)
        samples.append(elapsed)
        order = sorted(found.items(), key=lambda item: item[1])
        steps = ", ".join(f"{key} {at:.2f}" for key, at in order)
        print(f"{elapsed:.2f} s" + (f"  ({steps})" if steps else ""), flush=True)
    print(
        f"median {statistics.median(samples):.2f} s over {len(samples)} cold runs "
        f"({min(samples):.2f}-{max(samples):.2f})"
    )


if __name__ == "__main__":
    main()
