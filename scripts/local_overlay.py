#!/usr/bin/env python3
"""Plan deploying bundle.yaml with the charms and rocks packed into build/.

bundle.yaml names Charmhub charms; a developer or CI deploys what this checkout
builds instead. This script is the decision-making half of scripts/deploy.sh
(which only runs commands): overlays/local.yaml names, for every application of
ours, the packed charm and the rock it wants (`build/<charm>_*.charm`,
`build/<rock>_*.rock`); the script finds the newest such files in build/, picks
the image reference each rock is pushed as, and writes the filled overlay
(build/local-overlay.yaml) that points the applications at both.

Juju's bundle deploy cannot move an existing application to a newly uploaded
local charm, so applications already in the model are taken out of the overlay
(an application named with no value is removed from the base bundle) and
refreshed instead, and the bundle relations that removal drops are listed to be
integrated again. That keeps `tox -e deploy` safe to run repeatedly.

Output, one tab-separated step per line, in the order deploy.sh runs them:

    push       <rock file>   <image>
    deploy     <overlay file>
    refresh    <application> <charm file> <image>
    integrate  <endpoint>    <endpoint>
    wait       <application>
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "overlays" / "local.yaml"
SERVER_IMAGE = "server-image"
# Debian architecture names, as charmcraft and rockcraft put them in file names.
ARCHITECTURES = {"x86_64": "amd64", "aarch64": "arm64", "ppc64le": "ppc64el", "s390x": "s390x"}
# Characters of the rock's sha256 in its image tag: a rebuilt rock gets a new
# tag, so Juju sees a changed resource and Kubernetes never serves a stale one.
TAG_DIGEST_CHARS = 12
HASH_CHUNK_BYTES = 1 << 20


class PlanError(Exception):
    """The deployment cannot be planned; the message says what is missing."""


@dataclass(frozen=True)
class LocalApplication:
    """A bundle application served by a charm and rock built from this checkout."""

    name: str
    charm_file: Path
    rock_file: Path
    image: str
    exists: bool


def newest(paths: Iterable[Path]) -> Path | None:
    """The most recently written file: build/ may still hold older packs."""
    return max(paths, key=lambda path: path.stat().st_mtime, default=None)


def image_reference(registry: str, rock_file: Path) -> str:
    """`<registry>/<rock>:<version>-<digest>` for a `<rock>_<version>_<arch>.rock` file."""
    try:
        rock, version, _arch = rock_file.name.removesuffix(".rock").split("_")
    except ValueError as error:
        raise PlanError(f"{rock_file.name} is not named <name>_<version>_<arch>.rock") from error
    digest = hashlib.sha256()
    with rock_file.open("rb") as stream:
        # Rocks are hundreds of megabytes: hash them without reading them whole.
        while chunk := stream.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return f"{registry}/{rock}:{version}-{digest.hexdigest()[:TAG_DIGEST_CHARS]}"


def packed(build_dir: Path, placeholder: str, suffix: str) -> Path | None:
    """The newest file in build_dir that a template's `build/<name>_*<ext>` stands for.

    `suffix` keeps the files of one architecture (`-amd64.charm`, `_amd64.rock`).
    """
    pattern = Path(placeholder).name
    return newest(path for path in build_dir.glob(pattern) if path.name.endswith(suffix))


def missing_hint(placeholder: str) -> str:
    """What to do about a packed file that is not there."""
    name = Path(placeholder).name.split("_", 1)[0]
    if placeholder.endswith(".charm") and not (ROOT / "charms" / name).is_dir():
        return f"{placeholder} (this checkout has no charms/{name} to pack)"
    return placeholder


def local_applications(
    bundle: dict[str, Any],
    template: dict[str, Any],
    build_dir: Path,
    registry: str,
    arch: str,
    existing: set[str],
) -> list[LocalApplication]:
    """Every application of the template, with the packed files it stands for."""
    applications: list[LocalApplication] = []
    missing: list[str] = []
    for name, spec in (template.get("applications") or {}).items():
        if name not in (bundle.get("applications") or {}):
            raise PlanError(f"{TEMPLATE.name} names {name}, which bundle.yaml does not deploy")
        charm = packed(build_dir, spec["charm"], f"-{arch}.charm")
        rock = packed(build_dir, spec["resources"][SERVER_IMAGE], f"_{arch}.rock")
        missing += [
            missing_hint(placeholder)
            for placeholder, found in (
                (spec["charm"], charm),
                (spec["resources"][SERVER_IMAGE], rock),
            )
            if found is None
        ]
        if charm is None or rock is None:
            continue
        applications.append(
            LocalApplication(
                name=name,
                charm_file=charm.resolve(),
                rock_file=rock.resolve(),
                image=image_reference(registry, rock),
                exists=name in existing,
            )
        )
    if missing:
        raise PlanError(
            f"not packed for {arch} in {build_dir}: {', '.join(missing)};"
            " pack them with scripts/pack.sh"
        )
    return applications


def overlay(applications: Sequence[LocalApplication]) -> dict[str, Any]:
    """The overlay: new applications from local files, existing ones left to refresh."""
    entries: dict[str, Any] = {}
    for app in applications:
        # An application named without a value is removed from the base bundle.
        entries[app.name] = (
            None
            if app.exists
            else {"charm": str(app.charm_file), "resources": {SERVER_IMAGE: app.image}}
        )
    return {"applications": entries}


def relations_to_restore(bundle: dict[str, Any], removed: set[str]) -> list[tuple[str, str]]:
    """Bundle relations of applications the overlay removes (Juju drops them with the app)."""
    relations: list[tuple[str, str]] = []
    for first, second in bundle.get("relations") or []:
        if {first.split(":")[0], second.split(":")[0]} & removed:
            relations.append((first, second))
    return relations


def needs_deploy(bundle: dict[str, Any], removed: set[str]) -> bool:
    """Whether anything is left to deploy once the existing local applications are removed."""
    return bool(set(bundle.get("applications") or {}) - removed)


def existing_applications(status_file: Path | None) -> set[str]:
    """Application names in `juju status --format=json` output (none without a file)."""
    if status_file is None:
        return set()
    status = json.loads(status_file.read_text() or "{}")
    return set(status.get("applications") or {})


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line arguments."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bundle", type=Path, default=ROOT / "bundle.yaml")
    parser.add_argument("--template", type=Path, default=TEMPLATE, help="the overlay to fill")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build")
    parser.add_argument(
        "--registry", default="localhost:32000", help="registry the cluster pulls images from"
    )
    parser.add_argument("--status", type=Path, help="`juju status --format=json` of the model")
    parser.add_argument(
        "--arch",
        default=ARCHITECTURES.get(platform.machine(), platform.machine()),
        help="architecture of the packed files to use (default: this machine's)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Write the overlay and print the steps for deploy.sh."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    bundle: dict[str, Any] = yaml.safe_load(args.bundle.read_text())
    build_dir: Path = args.build_dir.resolve()
    try:
        applications = local_applications(
            bundle,
            yaml.safe_load(args.template.read_text()),
            build_dir,
            args.registry,
            args.arch,
            existing_applications(args.status),
        )
    except PlanError as error:
        print(f"local_overlay: {error}", file=sys.stderr)
        return 1
    removed = {app.name for app in applications if app.exists}
    overlay_file = build_dir / "local-overlay.yaml"
    # JSON is YAML: written by a serialiser, never assembled from strings.
    overlay_file.write_text(json.dumps(overlay(applications), indent=2) + "\n")

    steps: list[tuple[str, ...]] = [
        *(("push", str(app.rock_file), app.image) for app in applications),
        *((("deploy", str(overlay_file)),) if needs_deploy(bundle, removed) else ()),
        *(
            ("refresh", app.name, str(app.charm_file), app.image)
            for app in applications
            if app.exists
        ),
        *(("integrate", *pair) for pair in relations_to_restore(bundle, removed)),
        *(("wait", app.name) for app in applications),
    ]
    for step in steps:
        print("\t".join(step))
    return 0


if __name__ == "__main__":
    sys.exit(main())
