"""What the release workflow publishes: every rock, and every charm with a rock as its image."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from scripts import release_plan
from scripts.product import Resource, our_charms, rocks


def test_every_rock_and_every_charm_is_released_with_its_own_rock():
    plan = release_plan.plan()
    assert [entry["rock"] for entry in plan["rocks"]] == list(rocks())
    assert [entry["charm"] for entry in plan["charms"]] == list(our_charms())
    images = {entry["image"] for entry in plan["rocks"]}
    assert all(entry["image"] in images for entry in plan["charms"])
    assert plan["channel"] == "latest/edge"


def test_outputs_are_json_lines_for_github(capsys: pytest.CaptureFixture[str]):
    assert release_plan.main() == 0
    outputs = dict(line.split("=", 1) for line in capsys.readouterr().out.splitlines())
    assert set(outputs) == {"rocks", "charms", "channel"}
    assert json.loads(outputs["charms"])[0]["resource"] == "server-image"


def test_a_charm_whose_image_is_no_rock_stops_the_release(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    charm = our_charms()["sklearn-server"]
    stray = Resource("server-image", "oci-image", "docker.io/library/ubuntu:24.04")
    monkeypatch.setattr(
        release_plan, "our_charms", lambda: {charm.name: replace(charm, resources={"x": stray})}
    )
    assert release_plan.main() == 1
    assert "sklearn-server: resource server-image names docker.io/library/ubuntu:24.04" in (
        capsys.readouterr().err
    )
