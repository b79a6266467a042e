"""The charm's hooks on lightkube's HTTP client: Warning headers logged, untyped errors raised.

A real lightkube Client, answered by an httpx MockTransport as an API server
(or a proxy in front of it) would answer. The real kube-apiserver's Warning
headers reach the same hook in tests/kube_api.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx2 as httpx
import pytest
from lightkube import Client, KubeConfig
from lightkube.resources.apps_v1 import StatefulSet
from ops import testing

from model_server_charm import k8s_resources, kube_api
from model_server_charm.kubernetes_problems import KUBERNETES_ERRORS, problem_status
from tests.charms import REPRESENTATIVE
from tests.unit.conftest import container
from tests.unit.fake_kube import juju_statefulset
from tests.unit.k8s_helpers import NAMESPACE, state

WARNING = (
    '299 - "spec.template.spec.containers[1].resources.limits[memory]: fractional byte value'
    ' \\"500m\\" is invalid, must be an integer"'
)
Answer = Callable[[httpx.Request], httpx.Response]


def client(answer: Answer) -> Client:
    """A lightkube client of a cluster that answers every request with `answer`."""
    config = KubeConfig.from_dict(
        {
            "clusters": [{"name": "c", "cluster": {"server": "https://10.152.183.1"}}],
            "users": [{"name": "u", "user": {"token": "t"}}],
            "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
            "current-context": "x",
        }
    )
    return Client(config=config, namespace=NAMESPACE, transport=httpx.MockTransport(answer))


def statefulset_with(headers: dict[str, str]) -> Answer:
    body = juju_statefulset("app", NAMESPACE)
    return lambda request: httpx.Response(200, json=body, headers=headers)


@pytest.mark.parametrize(
    ("header", "logged"),
    [
        (
            WARNING,
            "spec.template.spec.containers[1].resources.limits[memory]: fractional byte value"
            ' "500m" is invalid, must be an integer',
        ),
        ("not RFC 7234's form", "not RFC 7234's form"),
    ],
)
def test_warning_headers_are_logged(caplog: pytest.LogCaptureFixture, header: str, logged: str):
    observed = kube_api.observed(client(statefulset_with({"Warning": header})))
    with caplog.at_level(logging.WARNING, logger=kube_api.__name__):
        observed.get(StatefulSet, "app", namespace=NAMESPACE)
    assert [record.getMessage() for record in caplog.records] == [
        f"Kubernetes API warning on GET /apis/apps/v1/namespaces/{NAMESPACE}/statefulsets/app:"
        f" {logged}"
    ]


def test_a_huge_warning_is_shortened(caplog: pytest.LogCaptureFixture):
    observed = kube_api.observed(client(statefulset_with({"Warning": "x" * 100_000})))
    with caplog.at_level(logging.WARNING, logger=kube_api.__name__):
        observed.get(StatefulSet, "app", namespace=NAMESPACE)
    [record] = caplog.records
    assert len(record.getMessage()) < 3000
    assert "[truncated: 100000 bytes in all]" in record.getMessage()


def _answer(status: int, headers: dict[str, str], body: bytes) -> Answer:
    return lambda request: httpx.Response(status, headers=headers, content=body)


JSON = {"Content-Type": "application/json"}
STATUS = b'{"kind":"Status","code":500,"message":"etcdserver: leader changed"}'
# (answer, what the unit's status says)
ODD_ANSWERS: list[tuple[Answer, str]] = [
    # A load balancer's or proxy's answer, without Content-Type: lightkube raises KeyError.
    (_answer(503, {}, b"upstream connect error"), "API answered 503 Service Unavailable"),
    (_answer(404, {}, b""), "API answered 404 Not Found"),
    (_answer(502, {"Content-Type": "text/html"}, b"<html/>"), "API answered 502 Bad Gateway"),
    (_answer(500, JSON, STATUS), "API error 500: etcdserver: leader changed"),
]


@pytest.mark.parametrize(("answer", "words"), ODD_ANSWERS)
def test_every_error_answer_is_an_api_fault(answer: Answer, words: str):
    observed = kube_api.observed(client(answer))
    with pytest.raises(KUBERNETES_ERRORS) as raised:
        observed.get(StatefulSet, "app", namespace=NAMESPACE)
    status = problem_status(raised.value, "app", required=True)
    assert status == testing.WaitingStatus(f"Kubernetes {words}; retrying on the next hook")


def test_without_the_hook_lightkube_raises_key_error():
    """Why the hook exists: lightkube 1.0 reads a Content-Type that is not there."""
    with pytest.raises(KeyError):
        client(ODD_ANSWERS[0][0]).get(StatefulSet, "app", namespace=NAMESPACE)


def test_an_answer_without_content_type_is_a_waiting_status(
    monkeypatch: pytest.MonkeyPatch,
):
    answer = ODD_ANSWERS[0][0]
    monkeypatch.setattr(k8s_resources, "kube_client", lambda: kube_api.observed(client(answer)))
    ctx: testing.Context[Any] = testing.Context(REPRESENTATIVE.charm_type)
    out = ctx.run(
        ctx.on.config_changed(), state({"cpu": "1"}, containers=frozenset({container()}))
    )
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API answered 503 Service Unavailable; retrying on the next hook"
    )
