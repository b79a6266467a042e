"""The validators themselves: they accept good objects and reject broken ones.

Without these, a validator that accepted everything would make every test
that relies on it pass vacuously.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from model_server_charm import serverless
from model_server_charm.families import family_for
from model_server_charm.k8s_resources import wanted_resources
from model_server_charm.runtimes import RUNTIMES
from model_server_charm.trained_models import render_trained_model
from tests.charms import charm_config
from tests.k8s_schemas import SchemaError, validate_builtin, validate_kserve
from tests.unit.fake_kube import juju_statefulset
from tests.unit.k8s_helpers import NAMESPACE, REGISTRY_PATH, require_kserve_crds

Breakage = Callable[[dict[str, Any]], None]


def _statefulset() -> dict[str, Any]:
    return juju_statefulset("sklearn", NAMESPACE, {"memory": "2Gi"})


def _server(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["template"]["spec"]["containers"][1]


def _misspelt_resources(obj: dict[str, Any]) -> None:
    _server(obj)["resource"] = _server(obj).pop("resources")


def _quantity_not_a_quantity(obj: dict[str, Any]) -> None:
    _server(obj)["resources"]["limits"]["memory"] = {"value": 2}


def _container_without_name(obj: dict[str, Any]) -> None:
    del _server(obj)["name"]


def _replicas_as_text(obj: dict[str, Any]) -> None:
    obj["spec"]["replicas"] = "one"


def test_juju_statefulset_is_valid():
    validate_builtin(_statefulset())


@pytest.mark.parametrize(
    "breakage",
    [_misspelt_resources, _quantity_not_a_quantity, _container_without_name, _replicas_as_text],
)
def test_builtin_validator_rejects_a_broken_statefulset(breakage: Breakage):
    obj = _statefulset()
    breakage(obj)
    with pytest.raises(SchemaError):
        validate_builtin(obj)


def _inference_service() -> dict[str, Any]:
    runtime = RUNTIMES["sklearn"]
    config = charm_config(runtime, model_uri="gs://bucket/model", cpu="1")
    return serverless.render_inference_service(
        family_for(runtime).predictor(config),
        config,
        app="sklearn",
        namespace=NAMESPACE,
        image=REGISTRY_PATH,
        resources=wanted_resources(config),
    )


def _predictor_field_misspelt(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["minReplica"] = obj["spec"]["predictor"].pop("minReplicas")


def _replicas_wrong_type(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["maxReplicas"] = "3"


def _unknown_scale_metric(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["scaleMetric"] = "latency"


def _container_field_misspelt(obj: dict[str, Any]) -> None:
    obj["spec"]["predictor"]["containers"][0]["args"] = "--model_dir=/mnt/models"


def _bad_label(obj: dict[str, Any]) -> None:
    obj["metadata"]["labels"]["app.juju.is/created-by"] = 7


def _metadata_misspelt(obj: dict[str, Any]) -> None:
    obj["metadata"]["annotation"] = obj["metadata"].pop("annotations")


@pytest.mark.parametrize(
    "breakage",
    [
        _predictor_field_misspelt,
        _replicas_wrong_type,
        _unknown_scale_metric,
        _container_field_misspelt,
        _bad_label,
        _metadata_misspelt,
    ],
)
def test_crd_validator_rejects_a_broken_inference_service(breakage: Breakage):
    require_kserve_crds()
    obj = _inference_service()
    validate_kserve(copy.deepcopy(obj))
    breakage(obj)
    with pytest.raises(SchemaError):
        validate_kserve(obj)


def test_crd_validator_rejects_a_trained_model_without_its_model():
    require_kserve_crds()
    obj = render_trained_model(
        {"name": "m", "uri": "gs://b/m", "framework": "x", "memory": "1Gi"},
        app="proteus",
        namespace=NAMESPACE,
    )
    validate_kserve(copy.deepcopy(obj))
    del obj["spec"]["model"]["storageUri"]
    with pytest.raises(SchemaError, match="storageUri"):
        validate_kserve(obj)
    obj["spec"]["model"]["storageUri"] = "gs://b/m"
    obj["spec"]["model"]["memory"] = "lots"
    with pytest.raises(SchemaError):
        validate_kserve(obj)


def test_crd_validator_refuses_kinds_it_has_no_schema_for():
    with pytest.raises(SchemaError, match="not a KServe kind"):
        validate_kserve({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}})
