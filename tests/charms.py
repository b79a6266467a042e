"""The thin charms of this repository, found on disk, for tests parametrised over charms.

A new runtime's charm directory is picked up here, so the unit, workload and
rock tests cover it without being edited.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from model_server_charm.charm import ModelServerCharm
from model_server_charm.config import CharmConfig
from model_server_charm.families import family_for
from model_server_charm.runtimes import Runtime
from scripts.render_charms import juju_defaults

ROOT = Path(__file__).resolve().parent.parent
CHARMS_DIR = ROOT / "charms"


@dataclass(frozen=True)
class ThinCharm:
    """A charm directory and the charm class its src/charm.py defines."""

    name: str
    path: Path
    charm_type: type[ModelServerCharm]


def _load_charm_type(charm_dir: Path) -> type[ModelServerCharm]:
    module_name = f"thin_charm_{charm_dir.name.replace('-', '_')}"
    spec = importlib.util.spec_from_file_location(module_name, charm_dir / "src" / "charm.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered so that inspect (and Scenario, which finds charmcraft.yaml from the
    # charm's source file) can locate the module.
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    classes = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ModelServerCharm)
        and value is not ModelServerCharm
    ]
    assert len(classes) == 1, f"{charm_dir} must define exactly one ModelServerCharm subclass"
    return classes[0]


def discover_charms() -> list[ThinCharm]:
    """Every charms/*-server directory with its charm class."""
    return [
        ThinCharm(name=path.name, path=path, charm_type=_load_charm_type(path))
        for path in sorted(CHARMS_DIR.glob("*-server"))
        if (path / "src" / "charm.py").exists()
    ]


THIN_CHARMS = discover_charms()
# Tests of a mechanism every charm shares (validation, bounds, secrets, Pebble faults)
# run on this one charm; tests of what differs per runtime run on every charm.
REPRESENTATIVE = next(charm for charm in THIN_CHARMS if charm.name == "sklearn-server")
BY_NAME = {charm.name: charm for charm in THIN_CHARMS}
# The charms of KServe's Python servers (the kserve-python family), and proteus (amdinfer).
KSERVE_CHARMS = [c for c in THIN_CHARMS if c.charm_type.runtime.family == "kserve-python"]
PROTEUS = BY_NAME["proteus-server"]


def charm_config(runtime: Runtime, **values: Any) -> CharmConfig:
    """The validated configuration of a charm of `runtime`: Juju's defaults and `values`."""
    return family_for(runtime).config_from({**juju_defaults(runtime), **values})
