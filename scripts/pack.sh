#!/usr/bin/env bash
# Pack every charm (charms/*-server) and every rock (rocks/*), collecting the
# .charm and .rock files in build/. `tox -e pack` runs this.
#
# Charms are packed with charmcraft's monorepo support (4.5+): each charm's part
# has `source: ../..` and `source-subdir: charms/<name>`, so the shared
# model-server-charm package and uv.lock are inside the build, and
# CHARMCRAFT_EXPERIMENTAL_MONOREPO=1 makes charmcraft mount the whole git
# checkout into its build container. Rocks are staged and packed by
# scripts/pack_rocks.py (rockcraft only sees the directory it packs).
#
# Usage: scripts/pack.sh [--charms-only | --rocks-only] [--destructive-mode] [NAME...]
#   NAME                a charm (sklearn-server) or rock (sklearnserver) to pack; default all
#   --destructive-mode  build on this host instead of in LXD (CI runners, throw-away VMs)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
MIN_CHARMCRAFT="4.5"
PYTHON="${PYTHON:-python3}"
# Snaps installed in this session (e.g. by concierge) are not on PATH yet.
if [[ -d /snap/bin && ":$PATH:" != *":/snap/bin:"* ]]; then
    PATH="$PATH:/snap/bin"
fi

die() {
    printf 'pack: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

# version_at_least HAVE WANT: true when dotted version HAVE >= WANT.
version_at_least() {
    [[ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" == "$2" ]]
}

require_charmcraft() {
    command -v charmcraft >/dev/null ||
        die "charmcraft is not installed; install it with: sudo snap install charmcraft --classic"
    local version
    version="$(charmcraft version 2>/dev/null | awk '{print $NF}' || true)"
    if [[ "$version" =~ ^[0-9]+\.[0-9]+ ]]; then
        version_at_least "$version" "$MIN_CHARMCRAFT" ||
            die "charmcraft $version is too old: monorepo packing needs $MIN_CHARMCRAFT or later" \
                "(sudo snap refresh charmcraft --channel=latest/stable)"
    else
        echo "pack: cannot tell charmcraft's version; monorepo packing needs $MIN_CHARMCRAFT+" >&2
    fi
    # Monorepo mode mounts the enclosing git checkout; outside one, the charm's
    # `source: ../..` would point outside the build container.
    [[ "$(git -C "$ROOT" rev-parse --show-toplevel 2>/dev/null)" == "$ROOT" ]] ||
        die "$ROOT is not the top of a git checkout: charmcraft's monorepo packing needs one"
}

require_rockcraft() {
    command -v rockcraft >/dev/null ||
        die "rockcraft is not installed; install it with: sudo snap install rockcraft --classic"
}

require_build_backend() {
    # Without --destructive-mode both crafts build in an LXD container.
    if ((destructive)); then
        return 0
    fi
    command -v lxc >/dev/null ||
        die "LXD is not installed (charmcraft and rockcraft build in it):" \
            "sudo snap install lxd && sudo lxd init --auto, or pass --destructive-mode"
}

# run_craft COMMAND...: run a craft tool that builds in LXD. A user just added
# to the lxd group (concierge does that) is not in it in this login session, so
# the command then runs under `sg lxd`, which needs no password for a member.
run_craft() {
    local members
    members="$(getent group lxd | cut -d: -f4 || true)"
    if ((destructive || EUID == 0)) || [[ " $(id -nG) " == *" lxd "* ]] ||
        [[ ",$members," != *",$(id -un),"* ]]; then
        "$@"
    else
        sg lxd -c "$(printf '%q ' "$@")"
    fi
}

pack_charm() {
    local dir="$1" name
    name="$(basename "$dir")"
    echo "pack: charm $name"
    # charmcraft writes <name>_<base>-<arch>.charm into the directory it runs in.
    rm -f "$dir"/*.charm
    (
        cd "$dir"
        export CHARMCRAFT_EXPERIMENTAL_MONOREPO=1
        run_craft charmcraft pack "${craft_args[@]}"
    ) ||
        die "charmcraft pack failed for $name (see the log path charmcraft printed above)"
    local packed=("$dir"/*.charm)
    [[ -e "${packed[0]}" ]] || die "charmcraft pack made no .charm file in $dir"
    mv -f "${packed[@]}" "$BUILD/"
}

pack_rocks() {
    local names=("$@")
    echo "pack: rocks ${names[*]:-(all)}"
    # pack_rocks.py stages and packs under build/rocks/<name>/; anything after
    # `--` goes to rockcraft unchanged.
    run_craft "$PYTHON" "$ROOT/scripts/pack_rocks.py" --output-dir "$BUILD/rocks" "${names[@]}" \
        -- "${craft_args[@]}" || die "packing rocks failed"
    local rock found=0
    for rock in "$BUILD"/rocks/*/*.rock; do
        [[ -e "$rock" ]] || continue
        mv -f "$rock" "$BUILD/"
        found=1
    done
    ((found)) || die "rockcraft made no .rock file under $BUILD/rocks"
}

charms=1 rocks=1 destructive=0
names=() craft_args=()
while (($#)); do
    case "$1" in
    --charms-only) rocks=0 ;;
    --rocks-only) charms=0 ;;
    --destructive-mode)
        destructive=1
        craft_args+=("$1")
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) names+=("$1") ;;
    esac
    shift
done

# Sort the names into charms and rocks; an unknown name is a typo, not a no-op.
charm_dirs=() rock_names=()
if ((${#names[@]})); then
    for name in "${names[@]}"; do
        if [[ -f "$ROOT/charms/$name/charmcraft.yaml" ]]; then
            charm_dirs+=("$ROOT/charms/$name")
        elif [[ -f "$ROOT/rocks/$name/rockcraft.yaml" ]]; then
            rock_names+=("$name")
        else
            die "$name is neither charms/$name nor rocks/$name"
        fi
    done
    ((${#charm_dirs[@]})) || charms=0
    ((${#rock_names[@]})) || rocks=0
else
    for dir in "$ROOT"/charms/*-server; do
        if [[ -f "$dir/charmcraft.yaml" ]]; then
            charm_dirs+=("$dir")
        fi
    done
fi

# Check every tool before packing anything: a missing rockcraft should not
# surface only after ten minutes of charm builds.
if ((charms)); then
    require_charmcraft
fi
if ((rocks)); then
    require_rockcraft
fi
require_build_backend
mkdir -p "$BUILD"

if ((charms)); then
    for dir in "${charm_dirs[@]}"; do
        pack_charm "$dir"
    done
fi
if ((rocks)); then
    pack_rocks "${rock_names[@]}"
fi

echo "pack: done; in $BUILD:"
find "$BUILD" -maxdepth 1 \( -name '*.charm' -o -name '*.rock' \) -printf '  %f\n' | sort
