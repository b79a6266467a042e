#!/usr/bin/env bash
# Build a Go command from a pinned module version into a file:
#
#   scripts/build_go_tool.sh MODULE VERSION PACKAGE OUTPUT
#   e.g. scripts/build_go_tool.sh github.com/canonical/pebble v1.19.2 \
#            github.com/canonical/pebble/cmd/pebble build/bin/pebble
#
# It is built as a requirement of a throw-away module rather than with
# `go install <pkg>@<tag>`: that form also asks the module proxy for every
# version of the module (to look for deprecation notices), which mirrors that
# only serve pinned versions refuse. Checksums are verified against the Go
# checksum database either way.
set -euo pipefail

if (($# != 4)); then
    echo "usage: $0 MODULE VERSION PACKAGE OUTPUT" >&2
    exit 2
fi
module="$1" version="$2" package="$3" output="$4"

if ! command -v go >/dev/null; then
    echo "build_go_tool: 'go' is not on PATH: install Go (https://go.dev/dl/; $module $version" \
        "names the oldest Go it builds with in its go.mod)" \
        "to build $package $version, or put the binary at $output" >&2
    exit 1
fi

module_dir="$(mktemp -d)"
trap 'rm -rf "$module_dir"' EXIT
cat >"$module_dir/go.mod" <<GOMOD
module go-tool-install

go 1.22

require $module $version
GOMOD

echo "build_go_tool: building $package $version into $output"
mkdir -p "$(dirname "$output")"
output="$(cd "$(dirname "$output")" && pwd)/$(basename "$output")"
# GOTOOLCHAIN=local: build with the Go that is installed, never download another.
# -mod=mod lets go record the module's checksums in the throw-away go.sum.
(
    cd "$module_dir"
    GOTOOLCHAIN=local GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 go build -o "$output" "$package"
)
