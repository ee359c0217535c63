"""Check that `make test SHARD=i/N` covers the suite: the N groups are disjoint and together
collect every test exactly once. Usage: python scripts/check_shards.py --splits 3."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def collect(project: Path, *args: str) -> list[str]:
    command = [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:randomly", *args]
    out = subprocess.run(command, cwd=project, capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if "::" in line]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--project", default="backend")
    args = parser.parse_args()
    project = ROOT / args.project
    everything = collect(project)
    seen: dict[str, int] = {}
    for group in range(1, args.splits + 1):
        split = ["--splits", str(args.splits), "--group", str(group)]
        tests = collect(project, *split, "--durations-path", ".test_durations")
        print(f"group {group}/{args.splits}: {len(tests)} tests")
        for test in tests:
            seen[test] = seen.get(test, 0) + 1
    twice = sorted(test for test, count in seen.items() if count > 1)
    missing = sorted(set(everything) - set(seen))
    if twice or missing:
        print(
            f"shards are wrong: {len(twice)} in two groups, {len(missing)} in none", file=sys.stderr
        )
        for test in (twice + missing)[:20]:
            print(f"  {test}", file=sys.stderr)
        return 1
    print(f"ok: {len(everything)} tests, each in exactly one of {args.splits} groups")
    return 0


if __name__ == "__main__":
    sys.exit(main())
