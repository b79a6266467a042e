"""Render the Terraform modules: one per charm, and the product module of bundle.yaml.

terraform/charms/<charm>/ comes from charms/<charm>/charmcraft.yaml: a
juju_application with the charm's options (their names and Juju types checked
by input validations), resources, trust and constraints, and every endpoint as
an output. terraform/product/ comes from bundle.yaml: the same applications
with the same options, prometheus-k8s and grafana-k8s from their own published
modules, and every relation as a juju_integration. A bundle application whose
charm this checkout does not have yet is left out, saying so. Run without
arguments to write the files, with --check to fail (as `tox -e lint` does)
when a committed file differs from its rendering.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from scripts.product import (
    RELEASE_CHANNEL,
    Charm,
    Endpoint,
    PublishedCharm,
    our_charms,
    published_charms,
)
from scripts.rendering import ROOT, render_template, write_or_check
from scripts.terraform_relations import (
    BundleError,
    endpoint_output_key,
    hcl,
    relations,
    switched_overlays,
)

TERRAFORM = ROOT / "terraform"
TEMPLATES = TERRAFORM / "templates"
BUNDLE = ROOT / "bundle.yaml"
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def hcl_key(name: str) -> str:
    """An object key: bare where HCL allows it (`model-uri`), quoted otherwise."""
    return name if IDENTIFIER.fullmatch(name) else hcl(name)


def aligned(pairs: list[tuple[str, str]], indent: int) -> str:
    """`key = value` lines with the equals signs lined up, as `terraform fmt` does."""
    width = max((len(key) for key, _ in pairs), default=0)
    return "\n".join(f"{' ' * indent}{key.ljust(width)} = {value}" for key, value in pairs)


def endpoint_map(endpoints: Mapping[str, Endpoint]) -> str:
    """The body of a `provides`/`requires` output: output key = endpoint name."""
    return aligned([(endpoint_output_key(name), hcl(name)) for name in sorted(endpoints)], 4)


def option_types(options: Mapping[str, str]) -> str:
    """The body of `local.option_types`: option = Juju type."""
    return aligned([(hcl_key(name), hcl(kind)) for name, kind in sorted(options.items())], 4)


def option_values(options: Mapping[str, Any]) -> str:
    """The body of one application's options, as bundle.yaml sets them."""
    return aligned([(hcl_key(name), hcl(value)) for name, value in options.items()], 6)


def names(resources: Mapping[str, Any]) -> str:
    """A list of names, for `local.resource_names`."""
    return ", ".join(hcl(name) for name in sorted(resources))


FILTERS = {
    "hcl": hcl,
    "endpoint_map": endpoint_map,
    "option_types": option_types,
    "option_values": option_values,
    "names": names,
}


def charm_module(charm: Charm) -> dict[Path, str]:
    """The files of a charm's module."""
    directory = TERRAFORM / "charms" / charm.name
    context = {
        "charm": charm,
        "app_name": charm.name.removesuffix("-server"),
        "channel": RELEASE_CHANNEL,
    }
    files = {
        directory / name: render_template(TEMPLATES / "charm" / f"{name}.j2", FILTERS, **context)
        for name in ("main.tf", "variables.tf", "outputs.tf")
    }
    files[directory / "versions.tf"] = render_template(TEMPLATES / "versions.tf.j2")
    return files


def product_module(
    bundle: Mapping[str, Any], ours: Mapping[str, Charm], published: Mapping[str, PublishedCharm]
) -> dict[Path, str]:
    """The files of the product module: bundle.yaml's applications and relations."""
    servers: list[dict[str, Any]] = []
    observability: list[dict[str, Any]] = []
    charms: dict[str, Charm] = {}
    for app, spec in bundle["applications"].items():
        name = spec["charm"]
        entry = {"name": app, "charm": name, "scale": spec.get("scale", 1)}
        if name in ours:
            charms[app] = ours[name]
            servers.append(
                {**entry, "trust": spec.get("trust", False), "options": spec.get("options") or {}}
            )
        elif name in published:
            charms[app] = published[name].charm
            observability.append({**entry, "module": published[name].terraform_module})
        else:
            print(
                f"render_terraform: {app} left out: charms/{name}/charmcraft.yaml does not exist"
            )
    channels = {
        spec["channel"] for spec in bundle["applications"].values() if spec["charm"] in ours
    }
    cos_channels = {
        spec["channel"] for spec in bundle["applications"].values() if spec["charm"] in published
    }
    if len(channels) != 1 or len(cos_channels) != 1:
        raise BundleError("the model servers, and prometheus and grafana, each need one channel")
    directory = TERRAFORM / "product"
    context = {
        "servers": servers,
        "options_locals": options_locals(servers),
        "observability": observability,
        "relations": relations(bundle, charms, {server["name"] for server in servers}),
        "channel": channels.pop(),
        "cos_channel": cos_channels.pop(),
        "app_names": aligned([(app, f"module.{app}.app_name") for app in charms], 4),
        "overlays": switched_overlays(charms, ours, published),
    }
    files = {
        directory / name: render_template(TEMPLATES / "product" / f"{name}.j2", FILTERS, **context)
        for name in ("main.tf", "variables.tf", "outputs.tf")
    }
    files[directory / "versions.tf"] = render_template(TEMPLATES / "versions.tf.j2")
    return files


def options_locals(servers: list[dict[str, Any]]) -> str:
    """The product's `options` map, laid out as `terraform fmt` lays it out.

    fmt aligns the `=` of consecutive one-line attributes; an attribute that
    spans lines ends such a run.
    """
    lines: list[str] = []
    run: list[tuple[str, str]] = []
    for app in servers:
        if not app["options"]:
            run.append((app["name"], "{}"))
            continue
        if run:
            lines.append(aligned(run, 4))
            run = []
        lines += [f"    {app['name']} = {{", option_values(app["options"]), "    }"]
    if run:
        lines.append(aligned(run, 4))
    return "\n".join(lines)


def renderings() -> dict[Path, str]:
    """Every module's files, by path."""
    ours = our_charms()
    files: dict[Path, str] = {}
    for charm in ours.values():
        files.update(charm_module(charm))
    bundle = yaml.safe_load(BUNDLE.read_text())
    files.update(product_module(bundle, ours, published_charms()))
    return files


def main() -> int:
    """Render (or with --check, compare) every Terraform module."""
    try:
        return write_or_check(__doc__, renderings, "python scripts/render_terraform.py")
    except BundleError as error:
        print(f"render_terraform: bundle.yaml: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
