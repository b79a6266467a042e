"""`s3-credentials` (s3): what the charm asks s3-integrator for, and what the server gets."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm import credentials
from tests.charms import REPRESENTATIVE, ThinCharm
from tests.peer_units import Application
from tests.unit import relation_schemas
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_kube import FakeKube
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import serving_serverless

MODEL = "s3://models/iris/v1"
SECRET_KEY = "s3cr3t-never-shown"
PLAIN = {"bucket": "models", "access-key": "AKIAEXAMPLE", "secret-key": SECRET_KEY}
CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----"


@pytest.fixture
def charm() -> ThinCharm:
    """The s3 requirer is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


def _s3(data: dict[str, str]) -> testing.Relation:
    return testing.Relation(
        "s3-credentials", remote_app_name="s3-integrator", remote_app_data=data
    )


def _state(relation: testing.Relation, **kw: Any) -> testing.State:
    config = {"model-uri": MODEL, **kw.pop("config", {})}
    return testing.State(config=config, relations={relation}, containers={container()}, **kw)


def _environment(out: testing.State, charm: ThinCharm) -> dict[str, str]:
    service = charm.charm_type.runtime.service_name
    return dict(out.get_container("server").plan.services[service].environment)


def test_the_leader_asks_for_the_models_bucket_and_a_secret(ctx: testing.Context[Any]):
    relation = _s3({})
    out = ctx.run(ctx.on.relation_created(relation), _state(relation, leader=True))
    asked = dict(out.get_relation(relation.id).local_app_data)
    assert asked == {"bucket": "models", "requested-secrets": '["access-key", "secret-key"]'}
    relation_schemas.check(relation_schemas.S3_V0["requirer"], asked)


def test_other_units_ask_nothing(ctx: testing.Context[Any]):
    relation = _s3({})
    out = ctx.run(ctx.on.relation_created(relation), _state(relation, leader=False))
    assert dict(out.get_relation(relation.id).local_app_data) == {}


def test_plain_credentials_become_the_servers_variables(
    ctx: testing.Context[Any], charm: ThinCharm
):
    data = {**PLAIN, "endpoint": "https://minio.example:9000", "region": "eu-west-1"}
    relation_schemas.check(relation_schemas.S3_V0["provider"], data)
    relation = _s3({**data, "s3-uri-style": "host"})
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert (
        _environment(out, charm).items()
        >= {
            "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_ENDPOINT_URL": "https://minio.example:9000",
            "AWS_DEFAULT_REGION": "eu-west-1",
            "S3_USER_VIRTUAL_BUCKET": "true",
        }.items()
    )


def test_keys_in_a_juju_secret_are_read_from_it(ctx: testing.Context[Any], charm: ThinCharm):
    secret = testing.Secret({"access-key": "AKIAV1", "secret-key": SECRET_KEY})
    relation = _s3({"bucket": "models", "secret-extra": secret.id})
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation, secrets={secret}))
    environment = _environment(out, charm)
    assert environment["AWS_ACCESS_KEY_ID"] == "AKIAV1"
    assert environment["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY


@pytest.mark.parametrize(
    "chain",
    [json.dumps([CERT]), json.dumps([base64.b64encode(CERT.encode()).decode()])],
    ids=["pem", "base64"],
)
def test_the_ca_chain_becomes_a_file_named_by_aws_ca_bundle(
    ctx: testing.Context[Any], charm: ThinCharm, chain: str
):
    relation = _s3({**PLAIN, "tls-ca-chain": chain})
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert _environment(out, charm)["AWS_CA_BUNDLE"] == credentials.S3_CA_BUNDLE_FILE
    written = out.get_container("server").get_filesystem(ctx) / "etc/kserve/credentials/s3-ca.pem"
    assert written.read_text() == CERT + "\n"


def test_incomplete_credentials_wait_and_give_the_server_none(
    ctx: testing.Context[Any], charm: ThinCharm
):
    relation = _s3({"bucket": "models"})
    out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert "AWS_ACCESS_KEY_ID" not in _environment(out, charm)


# (field, hostile value, what the log says) — each value is ignored, never a crash.
HOSTILE = [
    pytest.param("access-key", "AKIA\nPATH=/x", "access-key: has whitespace", id="key-newline"),
    pytest.param("secret-key", "k" * 5000, "secret-key: longer than 1024", id="key-huge"),
    pytest.param("endpoint", "ftp://minio/", "not an http(s) URL", id="endpoint-ftp"),
    pytest.param("endpoint", "https://u:p@minio/", "credentials in it", id="endpoint-creds"),
    pytest.param("endpoint", "https://minio:0/", "not an http(s) URL", id="endpoint-port-0"),
    pytest.param("region", "eu west;rm", "not a region name", id="region"),
    pytest.param("s3-uri-style", "virtual", "not host or path", id="uri-style"),
    pytest.param("bucket", "../etc", "not an S3 bucket name", id="bucket"),
    pytest.param("tls-ca-chain", "not json", "not valid JSON", id="chain-not-json"),
    pytest.param("tls-ca-chain", "[" * 100 + "]" * 100, "nests deeper", id="chain-deep"),
    pytest.param("tls-ca-chain", json.dumps(["x" * 200_000]), "bytes, over", id="chain-huge"),
    pytest.param("tls-ca-chain", json.dumps(["not a cert"]), "neither PEM nor", id="chain-junk"),
    pytest.param("tls-ca-chain", json.dumps([1]), "not a string", id="chain-number"),
    pytest.param("secret-extra", "not-a-secret-id", "not a secret ID", id="secret-id"),
    pytest.param("secret-extra", "secret:cmissing00000000000", "cannot read", id="secret-gone"),
]


@pytest.mark.parametrize(("field", "value", "logged"), HOSTILE)
def test_hostile_values_are_ignored_with_a_log_line(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    caplog: pytest.LogCaptureFixture,
    field: str,
    value: str,
    logged: str,
):
    relation = _s3({**PLAIN, field: value})
    with caplog.at_level(logging.WARNING):
        out = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    assert logged in caplog.text
    assert out.unit_status.name != "error"
    assert SECRET_KEY not in caplog.text + out.unit_status.message
    assert "AWS_CA_BUNDLE" not in _environment(out, charm)


def test_the_secret_takes_precedence_and_the_relation_is_named(
    ctx: testing.Context[Any], charm: ThinCharm
):
    secret = testing.Secret({"aws-access-key-id": "FROM-SECRET", "aws-secret-access-key": "s"})
    relation = _s3(PLAIN)
    state = _state(relation, secrets={secret}, config={"storage-credentials": secret.id})
    out = ctx.run(ctx.on.relation_changed(relation), state)
    assert _environment(out, charm)["AWS_ACCESS_KEY_ID"] == "FROM-SECRET"
    assert "AWS_ENDPOINT_URL" not in _environment(out, charm)


def test_relation_broken_takes_the_credentials_away(ctx: testing.Context[Any], charm: ThinCharm):
    relation = _s3({**PLAIN, "tls-ca-chain": json.dumps([CERT])})
    before = ctx.run(ctx.on.relation_changed(relation), _state(relation))
    box = before.get_container("server")
    out = ctx.run(
        ctx.on.relation_broken(relation),
        testing.State(config={"model-uri": MODEL}, relations={relation}, containers={box}),
    )
    environment = _environment(out, charm)
    assert "AWS_ACCESS_KEY_ID" not in environment
    assert not (box.get_filesystem(ctx) / "etc/kserve/credentials/s3-ca.pem").exists()


def _serving(charm: ThinCharm, fake: FakeModelServer, relation: testing.Relation, **kw: Any):
    config = {"model-uri": MODEL_URI, "http-port": fake.port, **kw.pop("config", {})}
    box = kw.pop("box", None) or running_container(charm, fake.port)
    return testing.State(config=config, relations={relation}, containers={box}, **kw)


def test_the_status_names_the_relation_the_secret_wins_over(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    secret = testing.Secret({"aws-access-key-id": "FROM-SECRET", "aws-secret-access-key": "s"})
    relation = _s3(PLAIN)
    state = _serving(
        charm, fake, relation, secrets={secret}, config={"storage-credentials": secret.id}
    )
    out = ctx.run(ctx.on.update_status(), state)
    assert out.unit_status.name == "active"
    assert out.unit_status.message.endswith(
        "; s3-credentials relation unused: the storage-credentials secret takes precedence"
        " (reset it to use the relation)"
    )


def test_the_status_says_which_keys_the_relation_still_lacks(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    relation = _s3({"bucket": "models", "access-key": "AKIA"})
    out = ctx.run(ctx.on.update_status(), _serving(charm, fake, relation))
    assert out.unit_status.message.endswith(
        "; s3-credentials: waiting for s3-integrator's secret-key"
    )


@pytest.mark.usefixtures("instant_waits")
def test_rotated_keys_restart_the_units_one_at_a_time(fake: FakeModelServer, tmp_path: Path):
    def state(unit: int) -> testing.State:
        mount = testing.Mount(location="/tmp", source=tmp_path / str(unit))
        mount.source.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        relation = testing.Relation("s3-credentials", id=3, remote_app_data={})
        return _serving(
            REPRESENTATIVE,
            fake,
            relation,
            box=running_container(REPRESENTATIVE, fake.port, mount=mount),
        )

    app = Application.of(REPRESENTATIVE.charm_type, state, units=2)
    _s3_changed_everywhere(app, PLAIN)
    app.settle()
    assert _secret_keys(app) == [SECRET_KEY] * 2

    _s3_changed_everywhere(app, {**PLAIN, "secret-key": "rotated"})

    assert _secret_keys(app) == [SECRET_KEY] * 2  # queued: nothing restarted at once
    assert app.states[1].unit_status.name == "waiting"
    app.settle()
    assert _secret_keys(app) == ["rotated"] * 2
    assert {app.states[u].unit_status.name for u in (0, 1)} == {"active"}


def _s3_changed_everywhere(app: Application, data: dict[str, str]) -> None:
    for unit in list(app.states):
        relation = dataclasses.replace(app.states[unit].get_relation(3), remote_app_data=data)
        others = {r for r in app.states[unit].relations if r.id != 3}
        app.states[unit] = dataclasses.replace(app.states[unit], relations={*others, relation})
        app.run(unit, lambda ctx, r=relation: ctx.on.relation_changed(r))


def _secret_keys(app: Application) -> list[str | None]:
    return [
        _environment(state, REPRESENTATIVE).get("AWS_SECRET_ACCESS_KEY")
        for state in app.states.values()
    ]


def test_serverless_mode_says_the_relation_is_unused(tmp_path: Path, kube: FakeKube):
    accel, serverless = serving_serverless(tmp_path, kube, {_s3(PLAIN)}, "http://isvc")

    out = accel.run(accel.on.update_status(), serverless)

    assert out.unit_status.message.endswith(
        "ready at http://isvc; s3-credentials relation unused in serverless mode:"
        " use a public model there"
    )
    applied = kube.writes()[0].body
    assert applied is not None
    predictor = applied["spec"]["predictor"]["containers"][0]
    assert not any(variable["name"].startswith("AWS_") for variable in predictor["env"])
