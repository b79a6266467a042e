"""`ingress` (v2): the request the charm publishes, and the URL it shows (or ignores)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm.relations import ingress
from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit import relation_schemas
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.fake_kube import FakeKube
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import serving_serverless

URL = "http://ingress.example.com/serving-sklearn-server"


@pytest.fixture
def charm() -> ThinCharm:
    """The ingress requirer is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


def _relation(url_field: str | None = None) -> testing.Relation:
    remote = {} if url_field is None else {"ingress": url_field}
    return testing.Relation("ingress", remote_app_name="traefik", remote_app_data=remote)


def _url(url: str) -> str:
    return json.dumps({"url": url})


def _serving(charm: ThinCharm, fake: FakeModelServer, relation: testing.Relation, **kw: Any):
    return testing.State(
        model=testing.Model(name="serving"),
        config={"model-uri": MODEL_URI, "http-port": fake.port},
        containers={running_container(charm, fake.port)},
        relations={relation},
        **kw,
    )


def test_leader_asks_for_a_route_to_the_http_port(
    ctx: testing.Context[Any], fake: FakeModelServer, charm: ThinCharm
):
    relation = _relation()
    out = ctx.run(
        ctx.on.relation_joined(relation, remote_unit=0),
        _serving(charm, fake, relation, leader=True),
    )
    sent = out.get_relation(relation.id)
    app_data = relation_schemas.decoded(sent.local_app_data)
    assert app_data == {
        "model": "serving",
        "name": charm.name,
        "port": fake.port,
        "scheme": "http",
        "strip-prefix": True,
        "redirect-https": False,
    }
    relation_schemas.check(relation_schemas.INGRESS_V2["requirer-app"], app_data)
    unit_data = relation_schemas.decoded(sent.local_unit_data)
    relation_schemas.check(relation_schemas.INGRESS_V2["requirer-unit"], unit_data)


def test_other_units_publish_only_their_host(
    ctx: testing.Context[Any], fake: FakeModelServer, charm: ThinCharm
):
    relation = _relation()
    out = ctx.run(
        ctx.on.relation_joined(relation, remote_unit=0),
        _serving(charm, fake, relation, leader=False),
    )
    sent = out.get_relation(relation.id)
    assert dict(sent.local_app_data) == {}
    assert set(relation_schemas.decoded(sent.local_unit_data)) == {"host"}


def test_the_url_is_in_the_active_status(
    ctx: testing.Context[Any], fake: FakeModelServer, charm: ThinCharm
):
    relation = _relation(_url(URL + "/"))
    relation_schemas.check(
        relation_schemas.INGRESS_V2["provider-app"], {"ingress": json.loads(_url(URL))}
    )
    out = ctx.run(ctx.on.relation_changed(relation), _serving(charm, fake, relation))
    assert out.unit_status == testing.ActiveStatus(
        f"model ready on :{fake.port} (v1, v2); ingress {URL}"
    )


def test_no_url_yet_adds_nothing(
    ctx: testing.Context[Any], fake: FakeModelServer, charm: ThinCharm
):
    relation = _relation()
    out = ctx.run(ctx.on.relation_changed(relation), _serving(charm, fake, relation))
    assert out.unit_status == testing.ActiveStatus(f"model ready on :{fake.port} (v1, v2)")


HOSTILE = [
    pytest.param("not json", "not valid JSON", id="not-json"),
    pytest.param("[" * 10_000 + "]" * 10_000, "bytes, over", id="huge"),
    pytest.param('{"url": ' + "[" * 100 + "]" * 100 + "}", "nests deeper", id="deep"),
    pytest.param('{"url": 1' + "0" * 5000 + "}", "bytes, over", id="5000-digits"),
    pytest.param('{"url": NaN}', "not finite", id="nan"),
    pytest.param('{"address": "http://x"}', "no URL", id="no-url"),
    pytest.param(_url("ftp://ingress.example.com/x"), "not an http(s) URL", id="ftp"),
    pytest.param(_url("http://in gress/x"), "whitespace", id="space"),
    pytest.param(_url("http://user:pw@ingress/x"), "credentials", id="credentials"),
    pytest.param(_url("http://ingress/" + "x" * 3000), "longer than 2048", id="long-url"),
    pytest.param(_url("http://ingress:99999/x"), "not a URL", id="bad-port"),
]


@pytest.mark.parametrize(("raw", "logged"), HOSTILE)
def test_hostile_urls_are_ignored_with_a_log_line(
    ctx: testing.Context[Any],
    fake: FakeModelServer,
    charm: ThinCharm,
    caplog: pytest.LogCaptureFixture,
    raw: str,
    logged: str,
):
    relation = _relation(raw)
    with caplog.at_level(logging.WARNING):
        out = ctx.run(ctx.on.relation_changed(relation), _serving(charm, fake, relation))
    assert out.unit_status == testing.ActiveStatus(f"model ready on :{fake.port} (v1, v2)")
    assert "ignoring traefik's ingress URL" in caplog.text
    assert logged in caplog.text


def test_relation_broken_drops_the_url(
    ctx: testing.Context[Any], fake: FakeModelServer, charm: ThinCharm
):
    relation = _relation(_url(URL))
    out = ctx.run(ctx.on.relation_broken(relation), _serving(charm, fake, relation))
    assert out.unit_status == testing.ActiveStatus(f"model ready on :{fake.port} (v1, v2)")


def test_serverless_withdraws_the_request_and_says_so(tmp_path: Path, kube: FakeKube):
    relation = testing.Relation(
        "ingress",
        remote_app_name="traefik",
        remote_app_data={"ingress": _url(URL)},
        local_app_data={"port": "8080", "model": '"kserve"', "name": '"x"'},
        local_unit_data={"host": '"x-0"'},
    )
    accel, serverless = serving_serverless(tmp_path, kube, {relation}, "http://isvc.example.com")
    out = accel.run(accel.on.relation_changed(relation), serverless)
    sent = out.get_relation(relation.id)
    assert dict(sent.local_app_data) == {}
    assert relation_schemas.decoded(sent.local_unit_data) == {}
    assert out.unit_status.message.endswith(
        f"ready at http://isvc.example.com; {ingress.SERVERLESS_NOTE}"
    )
