"""The plan scripts/deploy.sh follows to deploy bundle.yaml from the files this checkout packs.

overlays/local.yaml is the template: each value names the packed file it
stands for. The plan fills it from build/, pushes rocks under content-digest
tags and refreshes applications that already exist.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import local_overlay

ROOT = Path(__file__).resolve().parents[2]
BUNDLE: dict[str, Any] = yaml.safe_load((ROOT / "bundle.yaml").read_text())
TEMPLATE: dict[str, Any] = yaml.safe_load(local_overlay.TEMPLATE.read_text())
SKLEARN_ONLY = {"applications": {"sklearn": TEMPLATE["applications"]["sklearn"]}}


def _packed(build: Path, payload: bytes = b"rock") -> tuple[Path, Path]:
    charm = build / "sklearn-server_ubuntu@24.04-amd64.charm"
    rock = build / "sklearnserver_0.20.0_amd64.rock"
    charm.write_bytes(b"charm")
    rock.write_bytes(payload)
    # Another architecture's packs are never picked.
    (build / "sklearn-server_ubuntu@24.04-arm64.charm").write_bytes(b"arm")
    (build / "sklearnserver_0.20.0_arm64.rock").write_bytes(b"arm")
    return charm, rock


def _plan(build: Path, existing: set[str]) -> list[local_overlay.LocalApplication]:
    return local_overlay.local_applications(
        BUNDLE, SKLEARN_ONLY, build, "localhost:32000", "amd64", existing
    )


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
    template = tmp_path / "local.yaml"
    template.write_text(yaml.safe_dump(SKLEARN_ONLY))
    status = tmp_path / "status.json"
    status.write_text(json.dumps({"applications": {"sklearn": {}}}))
    exit_code = local_overlay.main(
        [
            *("--build-dir", str(tmp_path), "--arch", "amd64"),
            *("--status", str(status), "--template", str(template)),
        ]
    )
    assert exit_code == 0
    steps = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert [step[0] for step in steps].count("refresh") == 1
    (push,) = [step for step in steps if step[0] == "push"]
    assert push[2].startswith("localhost:32000/sklearnserver:")
    overlay = json.loads((tmp_path / "local-overlay.yaml").read_text())
    assert overlay["applications"]["sklearn"] is None


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
    with pytest.raises(local_overlay.PlanError, match=r"build/sklearn-server_\*\.charm"):
        _plan(tmp_path, existing=set())


def test_a_charm_this_checkout_lacks_is_named_as_such(tmp_path: Path):
    template = {"applications": {"sklearn": {**SKLEARN_ONLY["applications"]["sklearn"]}}}
    template["applications"]["sklearn"]["charm"] = "build/no-such-server_*.charm"
    with pytest.raises(local_overlay.PlanError, match=r"no charms/no-such-server to pack"):
        local_overlay.local_applications(BUNDLE, template, tmp_path, "r", "amd64", set())


def test_an_application_the_bundle_lacks_is_refused(tmp_path: Path):
    template = {"applications": {"sklearn2": SKLEARN_ONLY["applications"]["sklearn"]}}
    with pytest.raises(local_overlay.PlanError, match=r"sklearn2, which bundle\.yaml does not"):
        local_overlay.local_applications(BUNDLE, template, tmp_path, "r", "amd64", set())
