"""What a real kube-apiserver v1.37.2 does with what the charm's write code sends.

One table and its tests, run twice: against the unit tests' fake cluster
(tests/unit/test_api_server_rules.py) and against the real API server with
etcd (tests/kube_api/test_api_server_rules.py), so the fake is held to what
the real server does. Each of those modules imports the tests below and gives
them a `backend` fixture: the client, and what only that side can tell.

Each case goes through the charm's own write classes (`StatefulSetResources`,
`InferenceServices`, `TrainedModels`) with the client under test, bypassing
the charm's validation: the point is what the server does with a value, and
the charm's validation (tests/unit/test_validation.py) refuses every value
the server would not store as sent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol

import pytest
from lightkube import ApiError, Client

from model_server_charm.families import family_for
from model_server_charm.k8s_resources import (
    ResourceRequirements,
    StatefulSetResources,
    live_resources,
)
from model_server_charm.runtimes import RUNTIMES
from model_server_charm.serverless import InferenceServices, render_inference_service
from model_server_charm.trained_models import TrainedModels, render_trained_model
from tests.charms import charm_config
from tests.unit.fake_api_rules import INT32_MESSAGE, LABEL_VALUE_MESSAGE, SUBDOMAIN_MESSAGE


class Backend(Protocol):
    """A cluster to run the cases against: the fake or the real API server."""

    client: Any

    def application(self, app: str) -> None:
        """Make the StatefulSet Juju makes for `app`."""

    def warnings(self) -> list[str]:
        """The texts of the Warning headers the API sent so far."""
        ...

    def trained_models(self) -> set[str]:
        """The names of the TrainedModels stored."""
        ...


NAMESPACE = "kserve"
# The StatefulSet whose server container the quantity cases set limits on.
APP = "rules"
SERVER = "server"
# Juju's StatefulSet has the charm's container first: the server's is containers[1].
SERVER_PATH = "spec.template.spec.containers[1]"


@dataclass(frozen=True)
class StoredQuantity:
    """A limit as sent, as stored, and whether the charm's comparison then finds it applied."""

    resource: str
    sent: str
    stored: str
    # A Warning header says the stored value is fractional bytes.
    warns: bool = False
    # The value stored is not the value sent (clamped, rounded up, or its suffix lost).
    changed: bool = False
    # Compared by value (as the charm compares), what is stored is what was sent:
    # otherwise every hook would send the same apply again.
    converges: bool = True

    @property
    def warning(self) -> str | None:
        """The Warning text the server sends with the write (None: none)."""
        if not self.warns:
            return None
        return (
            f"{SERVER_PATH}.resources.limits[{self.resource}]: fractional byte value"
            f' "{self.stored}" is invalid, must be an integer'
        )


QUANTITIES = [
    # Beyond int64: a binary quantity is clamped; a decimal one above E loses its suffix.
    StoredQuantity("memory", "8Ei", "9223372036854775807", changed=True, converges=False),
    StoredQuantity("cpu", "8Ei", "9223372036854775807", changed=True, converges=False),
    StoredQuantity("memory", "1000E", "1", changed=True, converges=False),
    # Stored as sent, but more than the 8 PiB the charm accepts.
    StoredQuantity("memory", "10E", "10E"),
    # Fractional bytes: stored in milli-bytes, with only a Warning.
    StoredQuantity("memory", "0.5", "500m", warns=True),
    StoredQuantity("memory", "100m", "100m", warns=True),
    StoredQuantity("memory", "0.1Ki", "102400m", warns=True),
    # cpu finer than 1m: rounded up.
    StoredQuantity("cpu", "0.0001", "1m", changed=True),
    # lightkube's parse_quantity knows no u (micro): the charm's grammar refuses it too.
    StoredQuantity("cpu", "100u", "1m", changed=True, converges=False),
    StoredQuantity("cpu", "1.0005", "1001m", changed=True),
    # Canonical forms of values the charm accepts.
    StoredQuantity("cpu", "0.5", "500m"),
    StoredQuantity("cpu", "2000m", "2"),
    StoredQuantity("memory", "1024Mi", "1Gi"),
    StoredQuantity("memory", "1.5Gi", "1536Mi"),
    StoredQuantity("memory", "0.5Ki", "512"),
    StoredQuantity("memory", "1e3", "1e3"),
    StoredQuantity("memory", "3000000000", "3G"),
    # Whole bytes, but their milli-value overflows the server's int64 arithmetic.
    StoredQuantity("memory", "7Ei", "7Ei", warns=True),
    StoredQuantity("memory", "12345678901234567890", "12345678901234567890", warns=True),
    StoredQuantity("memory", "9223372036854775", "9223372036854775"),
]


def store_limit(client: Client | Any, case: StoredQuantity) -> tuple[str, bool]:
    """Apply the case's limit with the charm's code: (what is stored, whether it still differs)."""
    statefulset = StatefulSetResources(client, APP, NAMESPACE, SERVER)
    wanted = ResourceRequirements(limits={case.resource: case.sent})
    statefulset.apply(wanted)
    stored = live_resources(statefulset.statefulset, SERVER).limits[case.resource]
    return stored, statefulset.needs_apply(wanted)


def _subdomain(kind: str, name: str) -> str:
    return (
        f'{kind}.serving.kserve.io "{name}" is invalid: metadata.name: Invalid value: "{name}": '
    )


# (application, the API server's answer to its InferenceService; None: stored)
# Its InferenceService's name is 254 characters (and its label value 249).
LONG_APP = "a" * 249
APP_NAMES: list[tuple[str, str | None]] = [
    ("sklearn", None),
    ("x" * 63, None),
    ("bad_app", _subdomain("InferenceService", "bad_app-isvc") + SUBDOMAIN_MESSAGE),
    (
        LONG_APP,
        f'InferenceService.serving.kserve.io "{LONG_APP}-isvc" is invalid: [metadata.name:'
        f' Invalid value: "{LONG_APP}-isvc": must be no more than 253 characters,'
        f' metadata.labels: Invalid value: "{LONG_APP}": must be no more than 63 bytes]',
    ),
    (
        "x" * 64,
        f'InferenceService.serving.kserve.io "{"x" * 64}-isvc" is invalid: metadata.labels:'
        f' Invalid value: "{"x" * 64}": must be no more than 63 bytes',
    ),
    (
        "bad.",
        'InferenceService.serving.kserve.io "bad.-isvc" is invalid: [metadata.name: Invalid'
        f' value: "bad.-isvc": {SUBDOMAIN_MESSAGE}, metadata.labels: Invalid value: "bad.":'
        f" {LABEL_VALUE_MESSAGE}]",
    ),
]

# (min-replicas, max-replicas, autoscaling-target, the fields the server refuses)
SCALING: list[tuple[int, int, int, list[str]]] = [
    (0, 2**31 - 1, 2**31 - 1, []),
    (3_000_000_000, 3_000_000_000, 1, ["maxReplicas", "minReplicas"]),
    (1, 1, 3_000_000_000, ["scaleTarget"]),
]


def scaling_refusal(name: str, fields: list[str]) -> str | None:
    """The API server's answer to an InferenceService with these int32 fields too big."""
    if not fields:
        return None
    causes = [f"{INT32_MESSAGE} in spec.predictor.{field}" for field in fields]
    detail = causes[0] if len(causes) == 1 else f"[{', '.join(causes)}]"
    return f'InferenceService.serving.kserve.io "{name}" is invalid: {detail}'


def apply_inference_service(
    client: Client | Any, app: str, **options: Any
) -> dict[str, Any] | None:
    """Render and apply the InferenceService with the charm's code: what the server stored."""
    runtime = RUNTIMES["sklearn"]
    config = charm_config(runtime, model_uri="gs://bucket/model").replace(**options)
    services = InferenceServices(client, app, NAMESPACE)
    obj = render_inference_service(
        family_for(runtime).predictor(config),
        config,
        app=app,
        namespace=NAMESPACE,
        image="ghcr.io/example/sklearnserver:0.20.0",
        resources=ResourceRequirements(),
    )
    services.apply(obj)
    return services.get()


# (TrainedModel name, the API server's answer; None: stored)
MODEL_NAMES: list[tuple[str, str | None]] = [
    ("resnet50", None),
    ("res_net", _subdomain("TrainedModel", "res_net") + SUBDOMAIN_MESSAGE),
    ("ResNet", _subdomain("TrainedModel", "ResNet") + SUBDOMAIN_MESSAGE),
]


def apply_trained_model(client: Client | Any, name: str) -> None:
    """Render and apply one TrainedModel with the charm's code."""
    model = {"name": name, "uri": "gs://bucket/model", "framework": "xmodel", "memory": "1Gi"}
    obj = render_trained_model(model, app="proteus", namespace=NAMESPACE)
    TrainedModels(client, "proteus", NAMESPACE).apply(obj)


# Where one cause of a 422 ends and the next begins, in "is invalid: [cause, cause]".
_NEXT_CAUSE = re.compile(r", (?=<nil>: |metadata\.|spec\.)")


def normalized(message: str) -> str:
    """A 422's message with its causes sorted: the real server lists them in no fixed order."""
    head, separator, causes = message.partition(" is invalid: [")
    if not (separator and causes.endswith("]")):
        return message
    return f"{head}{separator}{', '.join(sorted(_NEXT_CAUSE.split(causes[:-1])))}]"


def refusal(error: ApiError) -> tuple[int, str]:
    """The code and (normalized) message of an API refusal."""
    return error.status.code or 0, normalized(error.status.message or "")


# --- the tests, imported by each side's module --------------------------------------------


@pytest.mark.parametrize("case", QUANTITIES, ids=lambda c: f"{c.resource}={c.sent}")
def test_limits_are_stored_as_the_api_server_stores_them(backend: Backend, case: StoredQuantity):
    backend.application(APP)
    stored, differs = store_limit(backend.client, case)
    assert stored == case.stored
    assert differs != case.converges
    assert backend.warnings() == ([case.warning] if case.warning else [])


@pytest.mark.parametrize(("app", "answer"), APP_NAMES, ids=lambda v: str(v)[:12])
def test_inference_service_names_and_labels(backend: Backend, app: str, answer: str | None):
    if answer is None:
        stored = apply_inference_service(backend.client, app)
        assert stored is not None
        assert stored["metadata"]["name"] == f"{app}-isvc"
        return
    with pytest.raises(ApiError) as refused:
        apply_inference_service(backend.client, app)
    assert refusal(refused.value) == (422, normalized(answer))


@pytest.mark.parametrize(("least", "most", "target", "refused"), SCALING)
def test_int32_fields(backend: Backend, least: int, most: int, target: int, refused: list[str]):
    options = {"min_replicas": least, "max_replicas": most, "autoscaling_target": target}
    answer = scaling_refusal("sklearn-isvc", refused)
    if answer is None:
        stored = apply_inference_service(backend.client, "sklearn", **options)
        assert stored is not None
        assert stored["spec"]["predictor"]["scaleTarget"] == target
        return
    with pytest.raises(ApiError) as error:
        apply_inference_service(backend.client, "sklearn", **options)
    assert refusal(error.value) == (422, normalized(answer))


@pytest.mark.parametrize(("name", "answer"), MODEL_NAMES)
def test_trained_model_names(backend: Backend, name: str, answer: str | None):
    if answer is None:
        apply_trained_model(backend.client, name)
        assert backend.trained_models() == {name}
        return
    with pytest.raises(ApiError) as refused:
        apply_trained_model(backend.client, name)
    assert refusal(refused.value) == (422, normalized(answer))
    assert backend.trained_models() == set()
