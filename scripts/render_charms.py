"""Render every model-server charm's files from the shared templates.

A charm directory (charms/<runtime>-server) holds nothing written by hand:
its charmcraft.yaml (charms/model-server-charm/charmcraft.yaml.j2, with one
snippet per option group in options/), its src/charm.py, pyproject.toml,
README.md and icon.svg (charms/model-server-charm/thin/) all come from the
runtime's entry in runtimes.yaml. Run without arguments to write the files,
with --check to fail (as `tox -e lint` does) when a committed file differs from
its rendering.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from model_server_charm.families import family_for
from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts.product import PROJECT_URL, Rock, rocks
from scripts.rendering import ROOT, render_template, write_or_check

SHARED = ROOT / "charms" / "model-server-charm"
TEMPLATE = SHARED / "charmcraft.yaml.j2"
THIN = SHARED / "thin"


@dataclass(frozen=True)
class Icon:
    """The charm's icon: a ring in the framework's colour around a short name."""

    text: str
    ring: str
    ink: str
    size: int = 26


ICONS = {
    "sklearn": Icon("skl", "#f7931e", "#29abe2"),
    "xgboost": Icon("xgb", "#189fdd", "#1a1a1a"),
    "lightgbm": Icon("lgbm", "#2f8f4e", "#1a1a1a", 22),
    "pmml": Icon("pmml", "#6c4f9e", "#1a1a1a", 22),
    "paddle": Icon("pdl", "#2932e1", "#e63323"),
    "huggingface": Icon("hf", "#ffd21e", "#1a1a1a", 32),
    "predictive": Icon("pred", "#0a7f8c", "#1a1a1a", 22),
    "autogluon": Icon("ag", "#2b6cb0", "#1a1a1a", 32),
    "proteus": Icon("amd", "#ed1c24", "#1a1a1a", 26),
}


def charm_name(runtime: Runtime) -> str:
    """The charm directory and Charmhub name of a runtime."""
    return f"{runtime.name}-server"


def class_name(runtime: Runtime) -> str:
    """The thin charm's class: `xgboost` serves through `XgboostServerCharm`."""
    return "".join(word.capitalize() for word in charm_name(runtime).split("-")) + "Charm"


def server_rock(runtime: Runtime) -> Rock:
    """The rock the runtime's charm runs: rocks/<server module>, else rocks/<charm name>.

    The KServe servers' rocks are named after their modules (sklearnserver); a
    rock of another family may share its charm's name (proteus-server).
    """
    available = rocks()
    for name in (runtime.server_module, charm_name(runtime)):
        if name in available:
            return available[name]
    raise LookupError(
        f"no rock for {charm_name(runtime)}: neither rocks/{runtime.server_module} nor"
        f" rocks/{charm_name(runtime)} has a rockcraft.yaml"
    )


def render(runtime: Runtime) -> str:
    """The charmcraft.yaml of the runtime's charm."""
    return render_template(
        TEMPLATE,
        charm_name=charm_name(runtime),
        runtime=runtime,
        rock=server_rock(runtime),
        project_url=PROJECT_URL,
        option_groups=[kind.name for kind in family_for(runtime).group_kinds()],
    )


def juju_defaults(runtime: Runtime) -> dict[str, Any]:
    """The option values Juju hands a charm of `runtime` when none is set (by field name)."""
    options = yaml.safe_load(render(runtime))["config"]["options"]
    return {
        name.replace("-", "_"): option["default"]
        for name, option in options.items()
        if "default" in option
    }


def first_sentence(text: str) -> str:
    """The first sentence of a description, on one line (for README tables)."""
    flat = " ".join(text.split())
    end = flat.find(". ")
    return flat if end < 0 else flat[: end + 1]


def default_value(value: Any) -> str:
    """An option's default as a README shows it (as in YAML: `false`, not `False`)."""
    if value in ("", None):
        return "(none)"
    return f"`{json.dumps(value) if isinstance(value, bool) else value}`"


def readme(runtime: Runtime, charmcraft: dict[str, Any]) -> str:
    """The charm's README: what it serves, how to deploy it, its options, actions, relations."""
    relations = [
        (endpoint, relation)
        for section in ("provides", "requires", "peers")
        for endpoint, relation in (charmcraft.get(section) or {}).items()
    ]
    return render_template(
        THIN / "README.md.j2",
        filters={"first_sentence": first_sentence, "default_value": default_value},
        charm_name=charm_name(runtime),
        runtime=runtime,
        protocols=" and ".join(runtime.protocols),
        rock=server_rock(runtime),
        example=runtime.default_example,
        options=charmcraft["config"]["options"],
        actions=charmcraft["actions"],
        relations=relations,
        relation_names={endpoint for endpoint, _ in relations},
    )


def renderings() -> dict[Path, str]:
    """Every charm's files, by path."""
    files: dict[Path, str] = {}
    for runtime in RUNTIMES.values():
        directory = ROOT / "charms" / charm_name(runtime)
        charmcraft = render(runtime)
        context: dict[str, Any] = {
            "runtime": runtime,
            "charm_name": charm_name(runtime),
            "class_name": class_name(runtime),
            "icon": ICONS[runtime.name],
        }
        files[directory / "charmcraft.yaml"] = charmcraft
        files[directory / "README.md"] = readme(runtime, yaml.safe_load(charmcraft))
        files[directory / "src" / "charm.py"] = render_template(THIN / "charm.py.j2", **context)
        files[directory / "pyproject.toml"] = render_template(
            THIN / "pyproject.toml.j2", **context
        )
        files[directory / "icon.svg"] = render_template(THIN / "icon.svg.j2", **context)
    return files


def main() -> int:
    """Render (or with --check, compare) every charm's files."""
    return write_or_check(__doc__, renderings, "python scripts/render_charms.py")


if __name__ == "__main__":
    sys.exit(main())
