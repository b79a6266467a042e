#!/usr/bin/env bash
# Deploy bundle.yaml with the charms and rocks built from this checkout.
# `tox -e deploy` runs this.
#
#  1. Find a Juju controller. Without one, on Ubuntu with snapd, set up MicroK8s
#     (with its image registry) and Juju with concierge; elsewhere, stop and say
#     what is missing.
#  2. Pack every charm and rock (scripts/pack.sh) unless --no-pack.
#  3. Push the rocks to the registry the cluster pulls from (MicroK8s's
#     localhost:32000 by default), tagged with their content digest.
#  4. Deploy bundle.yaml into the model with an overlay naming the local charm
#     files and their server-image resources (scripts/local_overlay.py).
#     Applications already in the model are refreshed instead, so running this
#     again upgrades in place.
#  5. Wait until the bundle's model servers are active.
#
# Usage: scripts/deploy.sh [--model NAME] [--registry HOST:PORT] [--no-pack] [--no-wait]
#   --model NAME          Juju model to deploy into, created if missing
#                         (default: $KSERVE_MODEL or kserve)
#   --registry HOST:PORT  registry the cluster pulls from; this machine pushes to it
#                         (default: $KSERVE_REGISTRY or localhost:32000, MicroK8s's)
#   --no-pack             deploy what is already in build/
#   --no-wait             do not wait for the applications to become active
#   Anything after -- is passed to scripts/pack.sh (e.g. -- --destructive-mode).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build"
MICROK8S_REGISTRY="localhost:32000"
WAIT_TIMEOUT="${KSERVE_WAIT_TIMEOUT:-30m}"
# Snaps installed in this session (by concierge, below) are not on PATH yet.
if [[ -d /snap/bin && ":$PATH:" != *":/snap/bin:"* ]]; then
    PATH="$PATH:/snap/bin"
fi

model="${KSERVE_MODEL:-kserve}"
registry="${KSERVE_REGISTRY:-$MICROK8S_REGISTRY}"
pack=1 wait=1
pack_args=()

log() { printf 'deploy: %s\n' "$*"; }

die() {
    printf 'deploy: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '/^# Usage:/,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
}

controller_reachable() {
    command -v juju >/dev/null && timeout 60 juju show-controller >/dev/null 2>&1
}

is_ubuntu() {
    [[ -r /etc/os-release ]] && grep -qx 'ID=ubuntu' /etc/os-release
}

# concierge's microk8s preset plus the registry addon (the preset leaves it
# out) and python3-yaml for scripts/local_overlay.py, with Juju 3.6 (the LTS).
# LXD is installed but not bootstrapped: it is only the build backend of
# charmcraft and rockcraft.
write_concierge_config() {
    cat >"$1" <<'EOF'
juju:
  channel: 3.6/stable
providers:
  lxd:
    enable: true
    bootstrap: false
  microk8s:
    enable: true
    bootstrap: true
    addons:
      - hostpath-storage
      - dns
      - rbac
      - registry
      - metallb:10.64.140.43-10.64.140.49
host:
  packages:
    - python3-yaml
  snaps:
    charmcraft:
      channel: latest/stable
    rockcraft:
      channel: latest/stable
EOF
}

ensure_controller() {
    if controller_reachable; then
        log "using Juju controller $(juju switch 2>/dev/null || echo '(current)')"
        return
    fi
    if ! is_ubuntu || ! command -v snap >/dev/null; then
        die "no reachable Juju controller, and this is not Ubuntu with snapd, so concierge" \
            "cannot set one up. Either bootstrap a Juju controller on a Kubernetes cloud" \
            "(juju bootstrap microk8s), or run this on Ubuntu with snapd."
    fi
    log "no reachable Juju controller: setting up MicroK8s and Juju with concierge (sudo)"
    if ! command -v concierge >/dev/null; then
        sudo snap install concierge --classic
    fi
    mkdir -p "$BUILD"
    write_concierge_config "$BUILD/concierge.yaml"
    sudo concierge prepare --verbose -c "$BUILD/concierge.yaml"
    controller_reachable || die "concierge finished but no Juju controller is reachable;" \
        "see 'sudo concierge status'"
}

registry_answers() {
    local url="http://$registry/v2/"
    if command -v curl >/dev/null; then
        curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null
    else
        python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' \
            "$url" 2>/dev/null
    fi
}

ensure_registry() {
    if registry_answers; then
        return
    fi
    if [[ "$registry" == "$MICROK8S_REGISTRY" ]] && command -v microk8s >/dev/null; then
        log "enabling MicroK8s's registry addon (sudo)"
        sudo microk8s enable registry
        local _
        for _ in $(seq 60); do
            registry_answers && return
            sleep 5
        done
    fi
    die "no image registry answers at http://$registry/v2/. Set KSERVE_REGISTRY (or --registry)" \
        "to a registry this machine can push to and the cluster can pull from, or use MicroK8s" \
        "(sudo microk8s enable registry)."
}

# Sets skopeo=(command...): rockcraft's bundled copy, else the system one.
find_skopeo() {
    if command -v rockcraft.skopeo >/dev/null; then
        skopeo=(rockcraft.skopeo)
    elif command -v skopeo >/dev/null; then
        skopeo=(skopeo)
    else
        die "skopeo is needed to push rocks: sudo snap install rockcraft --classic" \
            "(ships rockcraft.skopeo) or sudo apt-get install skopeo"
    fi
}

# Sets python=(command...): a Python that can import yaml, for
# scripts/local_overlay.py. The tox environment's own python3 has no packages,
# so the system one comes first, then the project's locked environment via uv.
find_overlay_python() {
    local candidate
    for candidate in "${PYTHON:-}" /usr/bin/python3 python3; do
        if [[ -n "$candidate" ]] && "$candidate" -c 'import yaml' 2>/dev/null; then
            python=("$candidate")
            return
        fi
    done
    if command -v uv >/dev/null; then
        python=(uv run --frozen --no-default-groups --project "$ROOT" python)
        return
    fi
    die "scripts/local_overlay.py needs Python with PyYAML: sudo apt-get install python3-yaml"
}

ensure_model() {
    if juju show-model "$model" >/dev/null 2>&1; then
        log "using model $model"
    else
        log "creating model $model"
        juju add-model "$model"
    fi
}

integrate() {
    local output
    if ! output="$(juju integrate -m "$model" "$1" "$2" 2>&1)"; then
        # Refreshed applications keep their relations; only a missing one is new.
        [[ "$output" == *"already exists"* ]] || die "juju integrate $1 $2: $output"
    fi
}

while (($#)); do
    case "$1" in
    --model)
        model="${2:?--model needs a name}"
        shift
        ;;
    --registry)
        registry="${2:?--registry needs HOST:PORT}"
        shift
        ;;
    --no-pack) pack=0 ;;
    --no-wait) wait=0 ;;
    --)
        shift
        pack_args=("$@")
        break
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
    shift
done

ensure_controller
ensure_registry
if ((pack)); then
    bash "$ROOT/scripts/pack.sh" "${pack_args[@]}"
fi
skopeo=() python=()
find_skopeo
find_overlay_python
ensure_model

mkdir -p "$BUILD"
juju status -m "$model" --format=json >"$BUILD/juju-status.json"
plan="$(
    "${python[@]}" "$ROOT/scripts/local_overlay.py" --bundle "$ROOT/bundle.yaml" \
        --template "$ROOT/overlays/local.yaml" --build-dir "$BUILD" --registry "$registry" \
        --status "$BUILD/juju-status.json"
)" || die "cannot plan the deployment (see above)"

# Insecure (plain HTTP) pushes only to a registry on this machine.
tls_verify=true
if [[ "$registry" == localhost:* || "$registry" == 127.0.0.1:* ]]; then
    tls_verify=false
fi

waiting=()
while IFS=$'\t' read -r step first second third; do
    case "$step" in
    push)
        log "pushing $(basename "$first") as $second"
        "${skopeo[@]}" --insecure-policy copy --dest-tls-verify="$tls_verify" \
            "oci-archive:$first" "docker://$second"
        ;;
    deploy)
        log "deploying bundle.yaml with overlay $first"
        juju deploy -m "$model" "$ROOT/bundle.yaml" --overlay "$first" --trust
        ;;
    refresh)
        log "refreshing $first from $(basename "$second") with $third"
        juju refresh -m "$model" "$first" --path "$second" --resource "server-image=$third"
        ;;
    integrate) integrate "$first" "$second" ;;
    wait) waiting+=("$first") ;;
    *) die "unexpected plan step: $step" ;;
    esac
done <<<"$plan"

if ((wait)); then
    for app in "${waiting[@]}"; do
        log "waiting (up to $WAIT_TIMEOUT) for $app to be active"
        juju wait-for application -m "$model" "$app" --query='status=="active"' \
            --timeout="$WAIT_TIMEOUT" ||
            die "$app is not active; see: juju status -m $model; juju debug-log -m $model"
    done
fi

log "done. Try:"
for app in "${waiting[@]}"; do
    log "  juju run -m $model $app/0 smoke-test"
done
