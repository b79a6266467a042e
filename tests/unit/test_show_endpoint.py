"""`show-endpoint`, and `smoke-test` through the ingress URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm.relations import ingress
from tests.charms import BY_NAME, PROTEUS, REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.fake_kube import FakeKube
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import (
    NAMESPACE,
    serving_serverless,
)
from tests.unit.proteus_states import ECHO, repository_model

URL = "http://ingress.example.com/serving-app"


def _ingress(url: str | None) -> testing.Relation:
    data = {"ingress": json.dumps({"url": url})} if url else {}
    return testing.Relation("ingress", remote_app_name="traefik", remote_app_data=data)


def _state(charm: ThinCharm, port: int, url: str | None = None, **config: Any):
    return testing.State(
        model=testing.Model(name="serving"),
        config={"model-uri": MODEL_URI, "http-port": port, **config},
        containers={running_container(charm, port)},
        relations={_ingress(url)},
    )


@pytest.mark.parametrize(
    ("charm", "paths"),
    [
        (
            REPRESENTATIVE,
            {
                "ready": "/v2/models/iris/ready",
                "v1": "/v1/models/iris:predict",
                "v2": "/v2/models/iris/infer",
            },
        ),
        (
            BY_NAME["huggingface-server"],
            {
                "ready": "/v2/models/iris/ready",
                "v1": "/v1/models/iris:predict",
                "v2": "/v2/models/iris/infer",
                "openai-completions": "/openai/v1/completions",
                "openai-chat-completions": "/openai/v1/chat/completions",
            },
        ),
    ],
    ids=["sklearn", "huggingface"],
)
def test_cluster_and_ingress_urls_with_the_models_paths(charm: ThinCharm, paths: dict[str, str]):
    ctx = testing.Context(charm.charm_type, app_name="app")
    ctx.run(ctx.on.action("show-endpoint"), _state(charm, 8080, URL, **{"model-name": "iris"}))
    assert ctx.action_results == {
        "cluster-url": "http://app.serving.svc.cluster.local:8080",
        "ingress-url": URL,
        "paths": paths,
    }


def test_without_ingress_it_says_how_to_get_one():
    ctx = testing.Context(REPRESENTATIVE.charm_type, app_name="app")
    ctx.run(ctx.on.action("show-endpoint"), _state(REPRESENTATIVE, 8080))
    assert ctx.action_results is not None
    assert ctx.action_results["ingress-url"] == (
        "none: relate an ingress provider (juju integrate app traefik-k8s)"
    )


def test_proteus_lists_each_models_path():
    ctx = testing.Context(PROTEUS.charm_type, app_name="proteus")
    models = json.dumps([ECHO, repository_model("https://example.com/adder.so")])
    box = testing.Container("server", can_connect=False)
    out_state = testing.State(
        config={"models": models}, relations={_ingress(None)}, containers={box}
    )
    ctx.run(ctx.on.action("show-endpoint"), out_state)
    assert ctx.action_results is not None
    assert ctx.action_results["paths"] == {
        "ready": "/v2/health/ready",
        "v2": "/v2/models/echo/infer, /v2/models/adder/infer",
    }


def test_serverless_shows_the_inference_services_urls(tmp_path: Path, kube: FakeKube):
    accel, serverless = serving_serverless(
        tmp_path, kube, {_ingress(URL)}, "https://isvc.example.com"
    )
    accel.run(accel.on.action("show-endpoint"), serverless)
    assert accel.action_results is not None
    assert accel.action_results["inference-service-url"] == "https://isvc.example.com"
    assert accel.action_results["cluster-url"] == f"http://isvc.{NAMESPACE}.svc.cluster.local"
    assert accel.action_results["ingress-url"] == ingress.SERVERLESS_NOTE


def test_smoke_test_goes_through_the_ingress_url(fake: FakeModelServer):
    ctx = testing.Context(REPRESENTATIVE.charm_type)
    unused_port = 1025  # nothing listens: only the ingress URL reaches the fake server
    state_in = _state(REPRESENTATIVE, unused_port, f"http://127.0.0.1:{fake.port}")
    ctx.run(ctx.on.action("smoke-test", params={"via-ingress": True}), state_in)
    assert ctx.action_results is not None
    assert ctx.action_results["result"].startswith("passed")
    assert [path for path, _ in fake.requests] == ["/v1/models/model:predict"]


def test_smoke_test_via_ingress_without_one_fails_saying_so():
    ctx = testing.Context(REPRESENTATIVE.charm_type, app_name="app")
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(
            ctx.on.action("smoke-test", params={"via-ingress": True}), _state(REPRESENTATIVE, 8080)
        )
    assert failure.value.message == (
        "no ingress URL to go through: none: relate an ingress provider"
        " (juju integrate app traefik-k8s)"
    )
