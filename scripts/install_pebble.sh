#!/usr/bin/env bash
# Install the real Pebble daemon the workload tests run the charm's layers on,
# into build/bin/pebble (or $PEBBLE_BIN). `tox -e workload` runs this first;
# it does nothing when that binary already reports the pinned version.
#
# The pin: v1.19.2 is the Pebble that Juju 3.6 LTS builds in (the
# github.com/canonical/pebble requirement of juju/juju's go.mod on its 3.6
# branch), so the tests run the layers on the Pebble that runs them in a
# deployed unit.
#
# scripts/build_go_tool.sh builds it from the pinned module.
set -euo pipefail

PEBBLE_VERSION="v1.19.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEBBLE_BIN="${PEBBLE_BIN:-$ROOT/build/bin/pebble}"

if [[ -x "$PEBBLE_BIN" && "$("$PEBBLE_BIN" version --client 2>/dev/null)" == "$PEBBLE_VERSION" ]]; then
    exit 0
fi
bash "$ROOT/scripts/build_go_tool.sh" github.com/canonical/pebble "$PEBBLE_VERSION" \
    github.com/canonical/pebble/cmd/pebble "$PEBBLE_BIN"
installed="$("$PEBBLE_BIN" version --client)"
if [[ "$installed" != "$PEBBLE_VERSION" ]]; then
    echo "install_pebble: built $PEBBLE_BIN reports $installed, not $PEBBLE_VERSION" >&2
    exit 1
fi
