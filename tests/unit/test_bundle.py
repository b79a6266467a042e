"""bundle.yaml, and the plan scripts/deploy.sh follows to deploy it from local files.

No Juju here, so the bundle is checked against what Juju would check it
against: the charms' own option schemas and the charm's configuration class
(an option the bundle sets must exist, have the declared type, and leave the
charm with a valid configuration, or the deployment ends Blocked).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts import local_overlay
from tests.charms import charm_config

ROOT = Path(__file__).resolve().parents[2]
BUNDLE: dict[str, Any] = yaml.safe_load((ROOT / "bundle.yaml").read_text())
OUR_CHARMS = {f"{runtime.name}-server": runtime for runtime in RUNTIMES.values()}
OUR_APPLICATIONS = {
    name: spec for name, spec in BUNDLE["applications"].items() if spec["charm"] in OUR_CHARMS
}
# Juju option types and the Python types their YAML values load as.
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "float": (int, float),
    "boolean": (bool,),
    "secret": (str,),
}


def _options_of(charm: str) -> dict[str, dict[str, Any]]:
    document = yaml.safe_load((ROOT / "charms" / charm / "charmcraft.yaml").read_text())
    return document["config"]["options"]


def test_bundle_is_a_kubernetes_bundle_with_our_charms():
    assert BUNDLE["bundle"] == "kubernetes"
    assert OUR_APPLICATIONS, "the bundle deploys none of this repository's charms"


@pytest.mark.parametrize("name", sorted(OUR_APPLICATIONS))
def test_application_is_named_after_its_runtime_and_trusted(name: str):
    spec = OUR_APPLICATIONS[name]
    assert OUR_CHARMS[spec["charm"]].name == name
    assert spec["scale"] >= 1
    # Without trust the charm cannot patch its StatefulSet and stays Blocked.
    assert spec["trust"] is True


@pytest.mark.parametrize("name", sorted(OUR_APPLICATIONS))
def test_bundle_options_are_declared_typed_and_valid(name: str):
    spec = OUR_APPLICATIONS[name]
    runtime: Runtime = OUR_CHARMS[spec["charm"]]
    declared = _options_of(spec["charm"])
    options: dict[str, Any] = spec.get("options") or {}
    for option, value in options.items():
        assert option in declared, f"{spec['charm']} has no option {option}"
        expected = OPTION_TYPES[declared[option]["type"]]
        assert isinstance(value, expected), f"{option}={value!r} is not {expected}"
        assert not (isinstance(value, bool) and bool not in expected), option
    values = {key: entry["default"] for key, entry in declared.items() if "default" in entry}
    values.update(options)
    # Raises ConfigError, naming each problem, if the deployed unit would be Blocked.
    charm_config(runtime, **{key.replace("-", "_"): v for key, v in values.items()})


def _packed(build: Path, payload: bytes = b"rock") -> tuple[Path, Path]:
    charm = build / "sklearn-server_ubuntu@24.04-amd64.charm"
    rock = build / "sklearnserver_0.20.0_amd64.rock"
    charm.write_bytes(b"charm")
    rock.write_bytes(payload)
    return charm, rock


def _plan(build: Path, existing: set[str]) -> list[local_overlay.LocalApplication]:
    return local_overlay.local_applications(BUNDLE, build, "localhost:32000", "amd64", existing)


def test_new_application_is_deployed_from_the_local_charm_and_pushed_rock(tmp_path: Path):
    charm, rock = _packed(tmp_path)
    (app,) = _plan(tmp_path, existing=set())
    assert (app.name, app.charm_file, app.rock_file, app.exists) == ("sklearn", charm, rock, False)
    assert app.image.startswith("localhost:32000/sklearnserver:0.20.0-")
    entry = local_overlay.overlay([app])["applications"]["sklearn"]
    assert entry == {"charm": str(charm), "resources": {"server-image": app.image}}
    assert local_overlay.needs_deploy(BUNDLE, removed=set())


def test_a_rebuilt_rock_gets_a_new_image_tag(tmp_path: Path):
    _packed(tmp_path, b"first build")
    (first,) = _plan(tmp_path, existing=set())
    _packed(tmp_path, b"second build")
    (second,) = _plan(tmp_path, existing=set())
    assert first.image != second.image


def test_existing_application_is_refreshed_not_redeployed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    _packed(tmp_path)
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"applications": {"sklearn": {}}}))
    exit_code = local_overlay.main(
        ["--build-dir", str(tmp_path), "--arch", "amd64", "--status", str(status)]
    )
    assert exit_code == 0
    steps = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert "refresh" in steps
    assert "push" in steps
    overlay = json.loads((tmp_path / "local-overlay.yaml").read_text())
    assert overlay["applications"]["sklearn"] is None
    images = json.loads((tmp_path / "images.json").read_text())
    assert images["sklearnserver"].startswith("localhost:32000/sklearnserver:")


def test_relations_of_removed_applications_are_restored():
    bundle = {
        "applications": {"sklearn": {}, "prometheus": {}},
        "relations": [["sklearn:metrics-endpoint", "prometheus:metrics-endpoint"]],
    }
    assert local_overlay.relations_to_restore(bundle, {"sklearn"}) == [
        ("sklearn:metrics-endpoint", "prometheus:metrics-endpoint")
    ]
    assert local_overlay.relations_to_restore(bundle, set()) == []
    assert local_overlay.needs_deploy(bundle, {"sklearn"})
    assert not local_overlay.needs_deploy(bundle, {"sklearn", "prometheus"})


def test_missing_packs_are_named(tmp_path: Path):
    with pytest.raises(local_overlay.PlanError, match=r"sklearn-server_\*-amd64\.charm"):
        _plan(tmp_path, existing=set())
