#!/usr/bin/env bash
# Install a real Pebble daemon the workload tests run the charm's layers on:
#
#   scripts/install_pebble.sh                    v1.19.2 into build/bin/pebble (or $PEBBLE_BIN)
#   scripts/install_pebble.sh VERSION OUTPUT     another release, e.g. v1.26.0
#
# `tox -e workload` runs it first for both pins; it does nothing when the
# binary already reports its version.
#
# The pins: v1.19.2 is the Pebble Juju 3.6.0 to 3.6.12 build in (the
# github.com/canonical/pebble requirement of juju/juju's go.mod on its 3.6
# branch); Juju 3.6.13 moved to v1.26.0 (juju/juju#21335), the first of the two
# with `opentelemetry` log targets (added in v1.24.0, canonical/pebble#663).
# The tests run the charm's layers on both, as deployed units run them.
#
# scripts/build_go_tool.sh builds it from the pinned module.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEBBLE_VERSION="${1:-v1.19.2}"
PEBBLE_BIN="${2:-${PEBBLE_BIN:-$ROOT/build/bin/pebble}}"

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
