"""The product module's juju_integrations, and the overlays it deploys behind a switch.

Relations come from bundle.yaml (every one a `juju_integration`). The overlays
in `SWITCHES` (overlays/ingress.yaml, overlays/s3.yaml) each become a boolean
input of the product module, false by default so that the module still deploys
exactly bundle.yaml: with it true, the overlay's applications (from their own
Terraform module where they publish one, as traefik-k8s does, else as a
`juju_application`: s3-integrator publishes none) and its relations, each with
`count = var.<input> ? 1 : 0`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from scripts.product import Charm, Endpoint, PublishedCharm
from scripts.rendering import ROOT

OVERLAYS = ROOT / "overlays"
# Product module input -> (overlay file, what it deploys).
SWITCHES = {
    "ingress": (
        "ingress.yaml",
        "Deploy traefik-k8s and relate every model server's ingress to it"
        " (overlays/ingress.yaml).",
    ),
    "s3_integrator": (
        "s3.yaml",
        "Deploy s3-integrator and relate every KServe model server to it (overlays/s3.yaml);"
        " configure it with config = { s3-integrator = { endpoint = ..., bucket = ... } }.",
    ),
}


def hcl(value: Any) -> str:
    """A scalar as an HCL literal (a string never interpolates)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value)).replace("${", "$${").replace("%{", "%%{")


def endpoint_output_key(name: str) -> str:
    """The key of an endpoint in a charm module's `provides`/`requires` output."""
    return name.replace("-", "_")


@dataclass(frozen=True)
class Side:
    """One application's end of a juju_integration: its name and endpoint, as expressions."""

    name: str
    endpoint: str


@dataclass(frozen=True)
class Relation:
    """A bundle relation as a juju_integration."""

    name: str
    sides: tuple[Side, Side]


class BundleError(Exception):
    """bundle.yaml names something no charm here or in published_charms.yaml has."""


def _endpoint(charm: Charm, name: str) -> Endpoint:
    if name not in charm.endpoints:
        raise BundleError(f"{charm.name} has no endpoint {name}")
    return charm.endpoints[name]


def _side(app: str, endpoint: str, charm: Charm, ours: bool, name: str = "") -> Side:
    found = _endpoint(charm, endpoint)
    name = name or f"module.{app}.app_name"
    if ours:
        return Side(name, f"module.{app}.{found.role}.{endpoint_output_key(endpoint)}")
    return Side(name, hcl(endpoint))


def relations(
    bundle: Mapping[str, Any],
    charms: Mapping[str, Charm],
    ours: set[str],
    names: Mapping[str, str] | None = None,
) -> list[Relation]:
    """The relations between the applications in `charms` (by application).

    `names` holds the name expression of applications not called as `module.<app>`.
    """
    found: dict[str, Relation] = {}
    names = names or {}
    for pair in bundle.get("relations") or []:
        ends = [str(end).partition(":")[::2] for end in pair]
        if not all(app in charms for app, _ in ends):
            continue
        first, second = (
            _side(app, end, charms[app], app in ours, names.get(app, "")) for app, end in ends
        )
        name = endpoint_output_key(f"{ends[0][0]}_{ends[0][1]}")
        if name in found:
            raise BundleError(f"two relations would both be juju_integration.{name}")
        found[name] = Relation(name, (first, second))
    return list(found.values())


@dataclass(frozen=True)
class OverlayApplication:
    """An application of a switched overlay: a published charm."""

    label: str
    name: str
    charm: str
    channel: str
    scale: int
    trust: bool
    module: str  # its own Terraform module ("": declared as a juju_application)


@dataclass(frozen=True)
class SwitchedOverlay:
    """An overlay the product module deploys when its input is true."""

    variable: str
    file: str
    description: str
    applications: list[OverlayApplication] = field(default_factory=list[OverlayApplication])
    relations: list[Relation] = field(default_factory=list[Relation])


def switched_overlays(
    charms: Mapping[str, Charm], ours: Mapping[str, Charm], published: Mapping[str, PublishedCharm]
) -> list[SwitchedOverlay]:
    """Every switched overlay, over the bundle's applications (`charms`, by application)."""
    found: list[SwitchedOverlay] = []
    for variable, (file, description) in SWITCHES.items():
        overlay = yaml.safe_load((OVERLAYS / file).read_text())
        switched = SwitchedOverlay(variable, file, description)
        names: dict[str, str] = {}
        every = dict(charms)
        for app, spec in overlay["applications"].items():
            if spec["charm"] not in published:
                raise BundleError(f"overlays/{file}: {spec['charm']} is not a published charm")
            entry = published[spec["charm"]]
            label = endpoint_output_key(app)
            switched.applications.append(
                OverlayApplication(
                    label=label,
                    name=app,
                    charm=spec["charm"],
                    channel=spec["channel"],
                    scale=spec.get("scale", 1),
                    trust=spec.get("trust", False),
                    module=entry.terraform_module,
                )
            )
            every[app] = entry.charm
            module = entry.terraform_module
            names[app] = (
                f"module.{label}[0].app_name" if module else f"juju_application.{label}[0].name"
            )
        ours_here = {app for app, charm in charms.items() if charm.name in ours}
        switched.relations.extend(relations(overlay, every, ours_here, names))
        found.append(switched)
    return found
