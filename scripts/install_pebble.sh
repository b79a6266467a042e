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
# It is built from the pinned module as a requirement of a throw-away module
# rather than with `go install <pkg>@<tag>`: that form also asks the module
# proxy for every version of Pebble (to look for deprecation notices), which
# mirrors that only serve pinned versions refuse. Checksums are verified
# against the Go checksum database either way.
set -euo pipefail

PEBBLE_VERSION="v1.19.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEBBLE_BIN="${PEBBLE_BIN:-$ROOT/build/bin/pebble}"

if [[ -x "$PEBBLE_BIN" && "$("$PEBBLE_BIN" version --client 2>/dev/null)" == "$PEBBLE_VERSION" ]]; then
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "install_pebble: 'go' is not on PATH: install Go 1.22 or newer (https://go.dev/dl/)" \
        "to build Pebble $PEBBLE_VERSION, or put a Pebble $PEBBLE_VERSION binary at $PEBBLE_BIN" >&2
    exit 1
fi

module_dir="$(mktemp -d)"
trap 'rm -rf "$module_dir"' EXIT
cat >"$module_dir/go.mod" <<EOF
module pebble-install

go 1.22

require github.com/canonical/pebble $PEBBLE_VERSION
EOF

echo "install_pebble: building Pebble $PEBBLE_VERSION into $PEBBLE_BIN"
mkdir -p "$(dirname "$PEBBLE_BIN")"
# GOTOOLCHAIN=local: build with the Go that is installed, never download another.
# -mod=mod lets go record the module's checksums in the throw-away go.sum.
(
    cd "$module_dir"
    GOTOOLCHAIN=local GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 \
        go build -o "$PEBBLE_BIN" github.com/canonical/pebble/cmd/pebble
)
installed="$("$PEBBLE_BIN" version --client)"
if [[ "$installed" != "$PEBBLE_VERSION" ]]; then
    echo "install_pebble: built $PEBBLE_BIN reports $installed, not $PEBBLE_VERSION" >&2
    exit 1
fi
