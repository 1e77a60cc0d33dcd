#!/usr/bin/env bash
# Create the project virtualenv (.venv) and install the project with its dev
# tools. Idempotent: a second run with an unchanged pyproject.toml is instant.
#
#   deploy/setup.sh                         core, dev tools and the camera side
#   OCC_EXTRAS=dev deploy/setup.sh          without the camera side (no torch)
#   OCC_EXTRAS=dev,camera,bench deploy/setup.sh   plus the benchmark peers
set -euo pipefail
# shellcheck disable=SC2034
OCC_LOG_TAG=setup
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PYTHON="${PYTHON:-python3}"
EXTRAS="${OCC_EXTRAS:-dev,camera}"
VENV="$OCC_REPO_ROOT/.venv"

"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || die "Python 3.11+ is needed (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11"

# The marker ties the install to the exact pyproject.toml and extras.
stamp="$(cat "$OCC_REPO_ROOT/pyproject.toml" <(echo "$EXTRAS") | sha256sum | cut -c1-16)"
marker="$VENV/.occupancy-installed-$stamp"
if [[ -f "$marker" ]]; then
    log "virtualenv up to date ($VENV)"
    exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating virtualenv $VENV"
    "$PYTHON" -m venv "$VENV"
fi
log "installing the project with extras [$EXTRAS] (first run takes a minute)"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e "$OCC_REPO_ROOT[$EXTRAS]"
rm -f "$VENV"/.occupancy-installed-*
touch "$marker"
log "virtualenv ready"
