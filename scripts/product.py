"""The charms and rocks kserve-bundle releases, read from their own files.

Charms are read from charms/*/charmcraft.yaml and rocks from
rocks/*/rockcraft.yaml, so a new charm or rock is part of the product (the
Terraform modules, the bundle's checks, the release workflow) as soon as its
file exists: nothing here lists them by name.

The project's public addresses are here too, in one place. There is no
published repository, registry namespace or Charmhub entry yet: these are the
names the release workflow publishes under (README.md, Release).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

ROOT = Path(__file__).resolve().parent.parent
CHARMS_DIR = ROOT / "charms"
ROCKS_DIR = ROOT / "rocks"
PUBLISHED_CHARMS = Path(__file__).resolve().parent / "published_charms.yaml"
PROJECT_URL = "https://github.com/kserve-bundle/kserve-bundle"
# Where the release workflow pushes every rock, as <IMAGE_REGISTRY>/<rock>:<version>.
IMAGE_REGISTRY = "ghcr.io/kserve-bundle"
# The Charmhub channel the release workflow releases every charm to.
RELEASE_CHANNEL = "latest/edge"

Role = Literal["provides", "requires"]


@dataclass(frozen=True)
class Endpoint:
    """A relation endpoint of a charm."""

    name: str
    interface: str
    role: Role


@dataclass(frozen=True)
class Resource:
    """A charm resource; `upstream_source` is the image an oci-image resource is released with."""

    name: str
    type: str
    upstream_source: str | None


@dataclass(frozen=True)
class Charm:
    """What a charmcraft.yaml declares that a deployment refers to."""

    name: str
    base: str
    architectures: tuple[str, ...]
    # Option name: Juju type (string, int, float, boolean, secret).
    options: Mapping[str, str]
    endpoints: Mapping[str, Endpoint]
    resources: Mapping[str, Resource]

    def endpoints_of(self, role: Role) -> dict[str, Endpoint]:
        """The charm's endpoints of one role, by name."""
        return {name: end for name, end in self.endpoints.items() if end.role == role}


@dataclass(frozen=True)
class PublishedCharm:
    """A charm of others the bundle deploys, as recorded in published_charms.yaml."""

    charm: Charm
    channel: str
    # Whether a deployment must trust the application (it manages Kubernetes objects).
    trust: bool
    # Its own Terraform module ("" when it publishes none).
    terraform_module: str
    # Whether the module deploys the application trusted (it has no `trust` input).
    terraform_module_trusts: bool
    terraform_module_inputs: frozenset[str]


@dataclass(frozen=True)
class Rock:
    """A rock this repository builds, and the image the release workflow pushes it as."""

    name: str
    version: str

    @property
    def image(self) -> str:
        """The published image reference."""
        return f"{IMAGE_REGISTRY}/{self.name}:{self.version}"


def charm_from(document: Mapping[str, Any]) -> Charm:
    """A charm from its charmcraft.yaml (a platforms-style, unified one)."""
    endpoints = {
        name: Endpoint(name, relation["interface"], role)
        for role in ("provides", "requires")
        for name, relation in (document.get(role) or {}).items()
    }
    return Charm(
        name=document["name"],
        base=document["base"],
        architectures=tuple(document.get("platforms") or {}),
        options={
            name: option["type"]
            for name, option in ((document.get("config") or {}).get("options") or {}).items()
        },
        endpoints=endpoints,
        resources={
            name: Resource(name, resource["type"], resource.get("upstream-source"))
            for name, resource in (document.get("resources") or {}).items()
        },
    )


def charm_files() -> dict[str, Path]:
    """Every charm directory's charmcraft.yaml, by directory name."""
    return {path.parent.name: path for path in sorted(CHARMS_DIR.glob("*/charmcraft.yaml"))}


def our_charms() -> dict[str, Charm]:
    """Every charm of this repository, by name."""
    return {
        name: charm_from(yaml.safe_load(path.read_text())) for name, path in charm_files().items()
    }


def published_charms() -> dict[str, PublishedCharm]:
    """The charms of others the bundle deploys (prometheus-k8s, grafana-k8s), by name."""
    recorded: dict[str, dict[str, Any]] = yaml.safe_load(PUBLISHED_CHARMS.read_text())
    return {
        name: PublishedCharm(
            charm=Charm(
                name=name,
                base="",
                architectures=(),
                options={},
                endpoints={
                    endpoint: Endpoint(endpoint, interface, role)
                    for role in ("provides", "requires")
                    for endpoint, interface in entry[role].items()
                },
                resources={},
            ),
            channel=entry["channel"],
            trust=entry["trust"],
            terraform_module=entry["terraform-module"],
            terraform_module_trusts=entry["terraform-module-trusts"],
            terraform_module_inputs=frozenset(entry["terraform-module-inputs"]),
        )
        for name, entry in recorded.items()
    }


@functools.cache
def rock_in(directory: Path) -> Rock:
    """The rock a rockcraft.yaml declares (read once: rocks' files are large, tests ask often)."""
    document = yaml.safe_load((directory / "rockcraft.yaml").read_text())
    return Rock(document["name"], str(document["version"]))


def rocks() -> dict[str, Rock]:
    """Every rock of this repository, by name."""
    found = (rock_in(path.parent) for path in sorted(ROCKS_DIR.glob("*/rockcraft.yaml")))
    return {rock.name: rock for rock in found}


def rock_of_image(image: str) -> Rock | None:
    """The rock a published image reference is (None for any other image)."""
    return next((rock for rock in rocks().values() if rock.image == image), None)
