#!/usr/bin/env bash
# Install the real kube-apiserver that `tox -e kube-api` runs the charm's
# Kubernetes writes against, into build/bin/kube-apiserver (or
# $KUBE_APISERVER_BIN); it does nothing when that binary already reports the
# pinned version.
#
# The pin: v1.37.2, the Kubernetes release of the project's lightkube-models
# (1.37.*), so the API that stores the charm's objects is the one its models
# describe.
#
# Kubernetes is not `go install`-able: k8s.io/kubernetes is a Go module on the
# module proxy, but its go.mod replaces every k8s.io/* library with a directory
# under ./staging, and those directories are left out of the module's zip
# (each is a module of its own, published as k8s.io/<name>@v0.<minor>.<patch>).
# So the script downloads the module, copies it to a writable directory, points
# each ./staging replace at the published k8s.io/<name>@v0.37.2, and builds
# ./cmd/kube-apiserver with the version stamped in, as Kubernetes' own build
# does. The first build takes 15-30 minutes of CPU on 2 cores; Go's build
# cache keeps the compiled packages, so a second build is quick.
#
# Checksums: every module, k8s.io/kubernetes included, is verified against the
# Go checksum database (sum.golang.org), which the go command reaches through
# the module proxy (GOPROXY/sumdb/sum.golang.org) when the database itself is
# not reachable. Where neither is, run it with GOSUMDB=off to
# build from the module proxy's copies unverified, knowingly.
set -euo pipefail

KUBE_VERSION="v1.37.2"
STAGING_VERSION="v0.37.2"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KUBE_APISERVER_BIN="${KUBE_APISERVER_BIN:-$ROOT/build/bin/kube-apiserver}"

if [[ -x "$KUBE_APISERVER_BIN" && "$("$KUBE_APISERVER_BIN" --version 2>/dev/null)" == "Kubernetes $KUBE_VERSION" ]]; then
    exit 0
fi
if ! command -v go >/dev/null; then
    echo "install_kube_apiserver: 'go' is not on PATH: install Go (https://go.dev/dl/;" \
        "k8s.io/kubernetes $KUBE_VERSION names the Go it needs in its go.mod)," \
        "or put a kube-apiserver $KUBE_VERSION binary at $KUBE_APISERVER_BIN" >&2
    exit 1
fi

# GOTOOLCHAIN=local: build with the Go that is installed, never download another.
export GOTOOLCHAIN=local
work_dir="$(mktemp -d)"
trap 'chmod -R u+w "$work_dir"; rm -rf "$work_dir"' EXIT

echo "install_kube_apiserver: downloading k8s.io/kubernetes@$KUBE_VERSION"
module_dir="$(cd "$work_dir" && GOFLAGS=-mod=mod go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')"
# The module cache is read-only: build from a writable copy.
cp -r "$module_dir" "$work_dir/kubernetes"
chmod -R u+w "$work_dir/kubernetes"
cd "$work_dir/kubernetes"

staging_replaces="$(GOWORK=off go mod edit -json | python3 -c '
import json, sys
for replace in json.load(sys.stdin).get("Replace") or []:
    if replace["New"]["Path"].startswith("./staging/"):
        print(replace["Old"]["Path"])
')"
if [[ -z "$staging_replaces" ]]; then
    echo "install_kube_apiserver: k8s.io/kubernetes@$KUBE_VERSION has no ./staging replaces:" \
        "this script does not know how to build it" >&2
    exit 1
fi
edits=()
for path in $staging_replaces; do
    edits+=("-replace=$path=$path@$STAGING_VERSION")
done
GOWORK=off go mod edit "${edits[@]}"

echo "install_kube_apiserver: building kube-apiserver $KUBE_VERSION into $KUBE_APISERVER_BIN" \
    "(15-30 minutes of CPU the first time)"
mkdir -p "$(dirname "$KUBE_APISERVER_BIN")"
output="$(cd "$(dirname "$KUBE_APISERVER_BIN")" && pwd)/$(basename "$KUBE_APISERVER_BIN")"
version_pkg="k8s.io/component-base/version"
ldflags="-s -w -X $version_pkg.gitVersion=$KUBE_VERSION -X $version_pkg.gitTreeState=clean"
ldflags+=" -X $version_pkg.gitMajor=1 -X $version_pkg.gitMinor=37"
# The module ships a go.work that names the ./staging directories: build as a module.
GOWORK=off GOFLAGS="-mod=mod -trimpath -buildvcs=false" CGO_ENABLED=0 \
    go build -ldflags "$ldflags" -o "$output" ./cmd/kube-apiserver

installed="$("$output" --version)"
if [[ "$installed" != "Kubernetes $KUBE_VERSION" ]]; then
    echo "install_kube_apiserver: built $output reports '$installed', not 'Kubernetes $KUBE_VERSION'" >&2
    exit 1
fi
