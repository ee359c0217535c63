#!/usr/bin/env bash
# The pip constraints for an example project's venv, on stdout: every line of the
# repository's requirements-dev.txt (its pins of pgstack's dependencies) except those of the
# packages the example pins itself, so the example's own pins win, as in a real project.
#   scripts/example-constraints.sh examples/NAME/requirements.txt requirements-dev.txt
set -euo pipefail
own_requirements="${1:?usage: scripts/example-constraints.sh EXAMPLE_REQUIREMENTS DEV_REQUIREMENTS}"
dev_requirements="${2:?usage: scripts/example-constraints.sh EXAMPLE_REQUIREMENTS DEV_REQUIREMENTS}"

# The example's package names: what comes before a version, extra, marker, space or
# comment; lowercase, with - for _ (pip's spelling). Comment and blank lines give none.
own_names="$(sed -E 's/[<>=\[ ;#].*//' "$own_requirements" | tr 'A-Z_' 'a-z-' | grep .)"

# requirements-dev.txt's lines, comments included, minus those naming one of them.
awk 'NR == FNR { own[$0]; next }
    { name = tolower($0); sub(/[<>=\[ ;#].*/, "", name); gsub(/_/, "-", name) }
    !(name in own)' <(printf '%s\n' "$own_names") "$dev_requirements"
