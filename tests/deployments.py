"""The product's deployments in one shape, whichever file describes them.

bundle.yaml (alone, or with an overlay merged into it as Juju merges overlays)
and terraform/product (read with python-hcl2, following its module calls into
terraform/charms/<charm>) each become a Deployment: applications (charm,
channel, trust, options, resources) and relations between application
endpoints. tests/unit/test_product.py checks every Deployment against the
charms they deploy.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import yaml

from scripts.product import published_charms

ROOT = Path(__file__).resolve().parent.parent
TERRAFORM = ROOT / "terraform"
HCL_OPTIONS = hcl2.SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
# A reference in an HCL expression (python-hcl2 keeps expressions as "${...}" text).
MODULE_OUTPUT = re.compile(r"\$\{module\.([\w-]+)\.([\w.]+)\}")
# An application of a switched overlay: `module.<label>[0].app_name` or
# `juju_application.<label>[0].name`.
SWITCHED_NAME = re.compile(r"\$\{(?:module|juju_application)\.([\w-]+)\[0\]\.(?:app_name|name)\}")
# `count = var.<switch> ? 1 : 0`: deployed only with that input true.
SWITCH = re.compile(r"\$\{var\.(\w+) \? 1 : 0\}")
VARIABLE = re.compile(r"\$\{var\.(\w+)\}")
BUNDLE_OPTIONS = re.compile(r"local\.options\.([\w-]+)")

Endpoint = tuple[str, str]  # (application, endpoint)


@dataclass(frozen=True)
class Application:
    """An application as a deployment declares it."""

    name: str
    charm: str
    channel: str | None
    trust: bool
    options: dict[str, Any]
    resources: dict[str, Any]


@dataclass(frozen=True)
class Deployment:
    """The applications and relations a file (or files) deploys."""

    applications: dict[str, Application]
    relations: list[tuple[Endpoint, Endpoint]]


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML file of the repository."""
    return yaml.safe_load(path.read_text())


def with_overlay(bundle: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """The bundle with an overlay merged in, as Juju merges it.

    An application named with no value is removed; otherwise its options and
    resources are merged key by key and its other keys replaced. Relations add up.
    """
    merged = copy.deepcopy(bundle)
    for name, spec in (overlay.get("applications") or {}).items():
        if spec is None:
            merged["applications"].pop(name, None)
            continue
        target = merged["applications"].setdefault(name, {})
        for key, value in spec.items():
            if key in ("options", "resources"):
                target[key] = {**(target.get(key) or {}), **value}
            else:
                target[key] = value
    merged["relations"] = [*(bundle.get("relations") or []), *(overlay.get("relations") or [])]
    return merged


def from_bundle(bundle: dict[str, Any]) -> Deployment:
    """A bundle document's deployment."""
    applications = {
        name: Application(
            name=name,
            charm=spec["charm"],
            channel=spec.get("channel"),
            trust=spec.get("trust", False),
            options=spec.get("options") or {},
            resources=spec.get("resources") or {},
        )
        for name, spec in bundle["applications"].items()
    }
    relations = [
        (_split(first), _split(second)) for first, second in bundle.get("relations") or []
    ]
    return Deployment(applications, relations)


def _split(endpoint: str) -> Endpoint:
    application, _, name = endpoint.partition(":")
    return application, name


def read_hcl(path: Path) -> dict[str, Any]:
    """A Terraform file as data: strings unquoted, expressions as "${...}" text."""
    with path.open() as stream:
        return hcl2.load(stream, serialization_options=HCL_OPTIONS)


def blocks(document: dict[str, Any], kind: str) -> dict[str, Any]:
    """The labelled blocks of one kind (module, variable, output), by label."""
    return {label: body for entry in document.get(kind, []) for label, body in entry.items()}


def module_files(directory: Path) -> dict[str, Any]:
    """Every .tf file of a module, merged: its locals, variables, outputs, modules, resources."""
    merged: dict[str, Any] = {"locals": {}, "variable": {}, "output": {}, "module": {}}
    resources: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        document = read_hcl(path)
        for entry in document.get("locals", []):
            merged["locals"].update(entry)
        for kind in ("variable", "output", "module"):
            merged[kind].update(blocks(document, kind))
        for entry in document.get("resource", []):
            for kind, labelled in entry.items():
                resources.setdefault(kind, {}).update(labelled)
    merged["resource"] = resources
    return merged


def _variable_default(module: dict[str, Any], expression: Any) -> Any:
    found = VARIABLE.fullmatch(str(expression))
    return module["variable"][found.group(1)]["default"] if found else expression


def _bundle_options_key(config: str) -> str:
    """The application whose `local.options` a module call's `config` expression reads."""
    found = BUNDLE_OPTIONS.search(config)
    if found is None:
        raise ValueError(f"config = {config} reads no local.options.<application>")
    return found.group(1)


def _switched_on(body: dict[str, Any], switches: frozenset[str]) -> bool:
    """Whether a block is deployed: it has no `count`, or its switch is among `switches`."""
    if "count" not in body:
        return True
    found = SWITCH.fullmatch(str(body["count"]))
    if found is None:
        raise ValueError(f"count = {body['count']} is not `var.<switch> ? 1 : 0`")
    return found.group(1) in switches


def from_terraform(
    directory: Path = TERRAFORM / "product", switches: frozenset[str] = frozenset()
) -> Deployment:
    """The product module's deployment, every variable at its default but the `switches` (true)."""
    product = module_files(directory)
    published = {entry.terraform_module: entry for entry in published_charms().values()}
    applications: dict[str, Application] = {}
    by_label: dict[str, str] = {}
    for label, call in product["module"].items():
        if not _switched_on(call, switches):
            continue
        source = call["source"]
        if source in published:
            charm, trust = published[source].charm.name, published[source].terraform_module_trusts
            options: dict[str, Any] = {}
        else:
            charm = read_charm_module(directory / source)["charm"]
            trust = call["trust"]
            options = product["locals"]["options"][_bundle_options_key(call["config"])]
        name = call["app_name"]
        by_label[label] = name
        applications[name] = Application(
            name=name,
            charm=charm,
            channel=_variable_default(product, call["channel"]),
            trust=trust,
            options=options,
            resources=product["variable"]["resources"]["default"].get(name, {}),
        )
    for label, body in product["resource"].get("juju_application", {}).items():
        if _switched_on(body, switches):
            by_label[label] = body["name"]
            charm_block = body["charm"][0]
            applications[body["name"]] = Application(
                name=body["name"],
                charm=charm_block["name"],
                channel=charm_block["channel"],
                trust=body["trust"],
                options={},
                resources={},
            )
    relations: list[tuple[Endpoint, Endpoint]] = []
    for body in product["resource"].get("juju_integration", {}).values():
        if not _switched_on(body, switches):
            continue
        first, second = body["application"]
        relations.append(
            (
                _terraform_endpoint(directory, product, by_label, first),
                _terraform_endpoint(directory, product, by_label, second),
            )
        )
    return Deployment(applications, relations)


def _terraform_endpoint(
    directory: Path, product: dict[str, Any], by_module: dict[str, str], side: dict[str, Any]
) -> Endpoint:
    """An integration's application block as (application, endpoint name)."""
    name = MODULE_OUTPUT.fullmatch(side["name"]) or SWITCHED_NAME.fullmatch(side["name"])
    if name is None or (name.re is MODULE_OUTPUT and name.group(2) != "app_name"):
        raise ValueError(f"an integration names {side['name']}, not an application's name")
    endpoint = side["endpoint"]
    reference = MODULE_OUTPUT.fullmatch(endpoint)
    if reference is not None:
        module, path = reference.groups()
        role, key = path.split(".")
        charm_module = read_charm_module(directory / product["module"][module]["source"])
        endpoint = charm_module["outputs"][role][key]
    return by_module[name.group(1)], endpoint


def read_charm_module(directory: Path) -> dict[str, Any]:
    """What a charm module declares: its charm, option types, resources, outputs, variables."""
    module = module_files(directory)
    (application,) = module["resource"]["juju_application"].values()
    return {
        "charm": application["charm"][0]["name"],
        "option_types": module["locals"]["option_types"],
        "resource_names": module["locals"]["resource_names"],
        "outputs": {name: body["value"] for name, body in module["output"].items()},
        "variables": module["variable"],
        "application": application,
    }
