"""Fault suite, Kubernetes: every API fault on every call the charm makes, in every mode.

One table of faults (what lightkube raises when the API is refused, slow,
failing, or not configured at all) crossed with every call the charm makes.
Whatever fails, no hook raises; a unit that needs the API says what is wrong
and that it retries; a unit that does not need it keeps serving, Active; the
model is always served by someone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from lightkube import ApiError
from lightkube.core.exceptions import ConfigError
from ops import pebble, testing

from model_server_charm import k8s_resources
from tests.unit.fake_kube import FakeKube, api_error, node
from tests.unit.fake_server import serve_fake
from tests.unit.k8s_helpers import (
    ACCEL,
    FPGA,
    accel_context,
    image_resource,
    require_kserve_crds,
    state,
)

RETRYING = "retrying on the next hook"
REQUEST = httpx.Request("GET", "https://10.152.183.1/apis/apps/v1")


def not_json_claiming_json() -> json.JSONDecodeError:
    """What lightkube raises for an error answer whose body claims JSON and is not."""
    headers = {"Content-Type": "application/json"}
    answer = httpx.Response(502, headers=headers, text="<html>bad gateway</html>", request=REQUEST)
    try:
        ApiError(request=REQUEST, response=answer)
    except json.JSONDecodeError as error:
        return error
    raise AssertionError("lightkube read a body that is not JSON")


FAULTS: dict[str, Exception] = {
    "connection refused": httpx.ConnectError("[Errno 111] Connection refused", request=REQUEST),
    "read timeout": httpx.ReadTimeout("The read operation timed out", request=REQUEST),
    "server error": api_error(503, "etcdserver: leader changed"),
    "gateway error, not JSON": httpx.HTTPStatusError(
        "502 Bad Gateway",
        request=REQUEST,
        response=httpx.Response(502, text="<html>bad gateway</html>", request=REQUEST),
    ),
    "gateway error claiming JSON": not_json_claiming_json(),
}
# Every call the charm makes; "Client" is making the client itself (no kube config).
CALLS = [
    ("get", "StatefulSet"),
    ("patch", "StatefulSet"),
    ("list", "Pod"),
    ("list", "Node"),
    ("get", "CustomResourceDefinition"),
    ("get", "InferenceService"),
    ("apply", "InferenceService"),
    ("delete", "InferenceService"),
]
CASES = [
    pytest.param(fault, call, id=f"{name}-{call[0]}-{call[1]}")
    for name, fault in FAULTS.items()
    for call in CALLS
]
NO_CONFIG = ConfigError("Configuration file ~/.kube/config not found")
CASES.append(pytest.param(NO_CONFIG, None, id="no-config"))


@pytest.fixture
def accel(tmp_path: Path) -> testing.Context[Any]:
    require_kserve_crds()
    return accel_context(tmp_path)


def inject(kube: FakeKube, monkeypatch: pytest.MonkeyPatch, fault: Exception, call: Any) -> None:
    """Answer `call` with `fault`; no call at all: the client cannot even be made."""
    if call is None:

        def no_client() -> Any:
            raise fault

        monkeypatch.setattr(k8s_resources, "kube_client", no_client)
    else:
        kube.failures[call] = fault


def faulted_call_made(kube: FakeKube, call: Any) -> bool:
    if call is None:
        return True
    return any((sent.verb, sent.kind) == call for sent in kube.sent)


def service_status(out: testing.State) -> pebble.ServiceStatus:
    return out.get_container("server").service_statuses[ACCEL.service_name]


@pytest.mark.parametrize(("fault", "call"), CASES)
def test_sidecar_without_limits_serves_on_active_whatever_fails(
    accel: testing.Context[Any],
    kube: FakeKube,
    monkeypatch: pytest.MonkeyPatch,
    fault: Exception,
    call: Any,
):
    inject(kube, monkeypatch, fault, call)
    with serve_fake() as fake:
        out = accel.run(accel.on.update_status(), state({"http-port": fake.port}))
    assert out.unit_status.name == "active"
    assert service_status(out) == pebble.ServiceStatus.ACTIVE


@pytest.mark.parametrize(("fault", "call"), CASES)
def test_sidecar_with_limits_serves_and_says_it_retries(
    accel: testing.Context[Any],
    kube: FakeKube,
    monkeypatch: pytest.MonkeyPatch,
    fault: Exception,
    call: Any,
):
    inject(kube, monkeypatch, fault, call)
    with serve_fake() as fake:
        out = accel.run(accel.on.config_changed(), state({"http-port": fake.port, "cpu": "2"}))
    assert service_status(out) == pebble.ServiceStatus.ACTIVE
    if faulted_call_made(kube, call):
        assert out.unit_status.name == "waiting"
        assert out.unit_status.message.endswith(RETRYING)
    else:
        assert out.unit_status.name == "active"


@pytest.mark.parametrize(("fault", "call"), CASES)
def test_serverless_keeps_the_units_server_and_says_it_retries(
    accel: testing.Context[Any],
    kube: FakeKube,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    fault: Exception,
    call: Any,
):
    inject(kube, monkeypatch, fault, call)
    with serve_fake() as fake:
        options = {"deployment-mode": "serverless", "http-port": fake.port}
        out = accel.run(
            accel.on.config_changed(),
            state(options, resources=frozenset({image_resource(tmp_path)})),
        )
    # The unit served before and nothing else serves yet: it keeps serving.
    assert service_status(out) == pebble.ServiceStatus.ACTIVE
    if faulted_call_made(kube, call):
        assert out.unit_status.name == "waiting"
        assert RETRYING in out.unit_status.message


@pytest.mark.parametrize(("fault", "call"), CASES)
@pytest.mark.parametrize("event", ["stop", "remove"])
def test_removal_never_fails_on_the_api(
    accel: testing.Context[Any],
    kube: FakeKube,
    monkeypatch: pytest.MonkeyPatch,
    fault: Exception,
    call: Any,
    event: str,
):
    kube.inference_services["accel-server-isvc"] = {"metadata": {"name": "accel-server-isvc"}}
    inject(kube, monkeypatch, fault, call)
    accel.run(getattr(accel.on, event)(), state(planned_units=0))
    # Deleted unless the fault hit a call removal makes; the owner reference does the rest.
    deleted = "accel-server-isvc" not in kube.inference_services
    assert deleted == (not faulted_call_made(kube, call))


def test_an_answer_that_is_not_the_json_it_claims_is_a_retry(
    accel: testing.Context[Any], kube: FakeKube
):
    kube.failures["get", "StatefulSet"] = not_json_claiming_json()
    with serve_fake() as fake:
        out = accel.run(accel.on.config_changed(), state({"http-port": fake.port, "cpu": "2"}))
    assert out.unit_status == testing.WaitingStatus(
        f"Kubernetes API answered with a body that is not JSON; {RETRYING}"
    )


def test_a_half_done_switch_says_what_was_done_and_serves(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    # Devices move in one batch: the InferenceService is applied, then freeing the
    # devices on the StatefulSet fails for real (after its dry run passed).
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    devices = {"fpga-count": 1, "fpga-resource": FPGA}
    accel.run(accel.on.config_changed(), state(devices))
    real_patch = kube.patch

    def patch_fails_for_real(*args: Any, **kwargs: Any) -> Any:
        if not kwargs.get("dry_run"):
            raise api_error(500, "etcdserver: request timed out")
        return real_patch(*args, **kwargs)

    kube.patch = patch_fails_for_real  # type: ignore[method-assign]
    serverless = {"deployment-mode": "serverless", **devices}
    out = accel.run(
        accel.on.config_changed(),
        state(serverless, resources=frozenset({image_resource(tmp_path)})),
    )
    assert "accel-server-isvc" in kube.inference_services
    assert out.unit_status == testing.WaitingStatus(
        "half done: applied accel-server-isvc, then Kubernetes API error 500: etcdserver:"
        " request timed out; retrying on the next hook"
    )
    # The unit's server was not stopped: until the next hook finishes, it serves.
    assert service_status(out) == pebble.ServiceStatus.ACTIVE
