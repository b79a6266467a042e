"""A stand-in for `lightkube.Client`: the cluster as the charm sees it.

It replaces the client at the one boundary the charm has
(`model_server_charm.k8s_resources.kube_client`), so everything above it runs
for real. Every call is recorded in `sent`, and every object the charm writes
is validated for real before it is accepted:

- a StatefulSet apply is merged into a StatefulSet as Juju creates it, with
  server-side apply's rules for the fields a manager owns (a field its manager
  stops applying is removed unless another manager owns it too; taking a field
  from another manager needs `force`), and the result must pass Kubernetes'
  strict schema;
- an InferenceService must pass KServe's CRD schema (strict);
- and the rules a real kube-apiserver adds to the schemas (fake_api_rules.py):
  names, label values, int32 fields refused with its messages; quantities
  stored canonically, with the Warning texts it sends kept in `warnings`.

The merge is written here independently of the charm's own reading of
`managedFields`, so a mistake there is not mirrored here.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from lightkube import ApiError
from lightkube.models.meta_v1 import Status
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType

from model_server_charm import serverless
from model_server_charm.trained_models import TrainedModel
from tests.k8s_schemas import validate_builtin, validate_kserve
from tests.unit import fake_api_rules, fake_quantity

SERVER = "server"
JUJU_MANAGER = "juju"


def api_error(code: int, message: str = "", reason: str = "") -> ApiError:
    """An ApiError as lightkube raises it for an API server's Status answer."""
    reasons = {403: "Forbidden", 404: "NotFound", 409: "Conflict", 422: "Invalid"}
    return ApiError(
        status=Status(
            code=code,
            message=message or f"{code} from the fake API server",
            reason=reason or reasons.get(code, "InternalError"),
            status="Failure",
        )
    )


@dataclass(frozen=True)
class Sent:
    """One call the charm made."""

    verb: str
    kind: str
    name: str
    namespace: str | None = None
    body: dict[str, Any] | None = None
    dry_run: bool = False
    force: bool = False
    field_manager: str | None = None


def _resource_fields(resources: dict[str, Any]) -> dict[str, Any]:
    return {
        f"f:{section}": {f"f:{name}": {} for name in values}
        for section, values in resources.items()
        if values
    }


def _container_key(name: str) -> str:
    return "k:" + json.dumps({"name": name}, separators=(",", ":"))


def _managed(
    manager: str, operation: str, containers: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    """A managedFields entry owning each container's name and the given resources."""
    fields = {
        _container_key(name): {
            ".": {},
            "f:name": {},
            **({"f:resources": _resource_fields(resources)} if resources else {}),
        }
        for name, resources in containers.items()
    }
    return {
        "manager": manager,
        "operation": operation,
        "apiVersion": "apps/v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": fields}}}},
    }


def _owned(entry: dict[str, Any], container: str) -> set[tuple[str, str]]:
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    resources = containers.get(_container_key(container), {}).get("f:resources", {})
    return {
        (section.removeprefix("f:"), name.removeprefix("f:"))
        for section, names in resources.items()
        for name in names
    }


def juju_statefulset(
    name: str, namespace: str, juju_limits: dict[str, str] | None = None
) -> dict[str, Any]:
    """The StatefulSet Juju creates for a sidecar charm (trimmed to what matters here)."""
    labels = {"app.kubernetes.io/name": name}
    server: dict[str, Any] = {
        "name": SERVER,
        "image": f"registry.jujucharms.com/charm/abc/{name}-image@sha256:{'0' * 64}",
        "command": ["/charm/bin/pebble"],
        "args": ["run", "--create-dirs", "--hold", "--http", ":38813", "--verbose"],
        "securityContext": {"runAsUser": 0, "runAsGroup": 0},
    }
    if juju_limits:
        server["resources"] = {"limits": dict(juju_limits)}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": "0b5ef4f1-8a1e-4c1d-9d4b-3e0c8f0a7d21",
            "labels": {**labels, "app.kubernetes.io/managed-by": "juju"},
            "annotations": {"juju.is/version": "3.6.14"},
            "managedFields": [
                _managed(
                    JUJU_MANAGER,
                    "Update",
                    {"charm": {}, SERVER: {"limits": juju_limits} if juju_limits else {}},
                )
            ],
        },
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "serviceName": f"{name}-endpoints",
            "podManagementPolicy": "Parallel",
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "serviceAccountName": name,
                    "imagePullSecrets": [{"name": f"{name}-server-secret"}],
                    "containers": [
                        {"name": "charm", "image": "jujusolutions/charm-base:ubuntu-24.04"},
                        server,
                    ],
                },
            },
        },
    }


def node(name: str, allocatable: dict[str, str]) -> dict[str, Any]:
    """A node offering these allocatable resources (besides cpu and memory)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name},
        "status": {"allocatable": {"cpu": "4", "memory": "16Gi", "pods": "110", **allocatable}},
    }


def unschedulable_pod(name: str, app: str, message: str) -> dict[str, Any]:
    """A pending pod of the application that the scheduler cannot place."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app.kubernetes.io/name": app}},
        "spec": {"containers": [{"name": SERVER, "image": "rock"}]},
        "status": {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "reason": "Unschedulable",
                    "message": message,
                }
            ],
        },
    }


def _kind(res: Any) -> str:
    return res.__name__


class FakeKube:
    """The cluster, at the lightkube Client's interface, as far as the charm uses it."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.kserve_installed = True
        # Limits Juju put on the server container (for example from --constraints).
        self.juju_limits: dict[str, str] = {}
        self.statefulsets: dict[str, dict[str, Any]] = {}
        self.inference_services: dict[str, dict[str, Any]] = {}
        self.trained_models: dict[str, dict[str, Any]] = {}
        # What KServe reports on every InferenceService (None: nothing yet).
        self.isvc_status: dict[str, Any] | None = None
        self.pods: list[dict[str, Any]] = []
        self.nodes: list[dict[str, Any]] = [node("node-1", {})]
        # (verb, kind) pairs answered with this error; "*" matches anything. Any
        # exception the client can raise: ApiError, httpx2 transport errors, …
        self.failures: dict[tuple[str, str], Exception] = {}
        # The texts of the Warning headers the real API server would have sent.
        self.warnings: list[str] = []

    # --- test helpers ---------------------------------------------------------------

    def forbid(self, verb: str = "*", kind: str = "*") -> None:
        """Answer matching calls with 403, as for an application deployed without trust."""
        self.failures[verb, kind] = api_error(403, f"{verb} {kind} is forbidden")

    def writes(self) -> list[Sent]:
        """The calls that changed the cluster (dry runs excluded)."""
        return [s for s in self.sent if s.verb in ("patch", "apply", "delete") and not s.dry_run]

    def statefulset(self, name: str) -> dict[str, Any]:
        """The live StatefulSet (Juju's, created on first use)."""
        if name not in self.statefulsets:
            self.statefulsets[name] = juju_statefulset(name, "model", self.juju_limits)
        return self.statefulsets[name]

    def server_resources(self, name: str) -> dict[str, Any]:
        """The live server container's `resources`."""
        containers = self.statefulset(name)["spec"]["template"]["spec"]["containers"]
        server = next(c for c in containers if c["name"] == SERVER)
        return server.get("resources", {})

    def _check(self, verb: str, kind: str) -> None:
        for key in ((verb, kind), (verb, "*"), ("*", kind), ("*", "*")):
            if key in self.failures:
                raise self.failures[key]

    # --- the Client interface -------------------------------------------------------

    def get(self, res: Any, name: str, *, namespace: str | None = None) -> Any:
        kind = _kind(res)
        self.sent.append(Sent("get", kind, name, namespace))
        self._check("get", kind)
        if res is StatefulSet:
            live = self.statefulset(name)
            live["metadata"]["namespace"] = namespace
            return StatefulSet.from_dict(copy.deepcopy(live))
        if res is CustomResourceDefinition:
            if name != serverless.INFERENCE_SERVICE_CRD or not self.kserve_installed:
                raise api_error(404, f'customresourcedefinitions "{name}" not found')
            return CustomResourceDefinition.from_dict(_crd_object())
        if res is serverless.InferenceService:
            # Without the CRD the API server's answer is not even JSON: the charm
            # must check the CRD first.
            assert self.kserve_installed, "InferenceService read without checking for KServe"
            if name not in self.inference_services:
                raise api_error(404, f'inferenceservices "{name}" not found')
            live = copy.deepcopy(self.inference_services[name])
            if self.isvc_status is not None:
                live["status"] = copy.deepcopy(self.isvc_status)
            return serverless.InferenceService.from_dict(live)
        raise AssertionError(f"unexpected get of {kind}")

    def list(
        self,
        res: Any,
        *,
        namespace: str | None = None,
        labels: dict[str, str] | None = None,
        **_: Any,
    ) -> list[Any]:
        kind = _kind(res)
        self.sent.append(Sent("list", kind, "", namespace))
        self._check("list", kind)
        if res is Pod:
            selected = [
                pod
                for pod in self.pods
                if (labels or {}).items() <= pod["metadata"].get("labels", {}).items()
            ]
            return [Pod.from_dict(copy.deepcopy(pod)) for pod in selected]
        if res is Node:
            return [Node.from_dict(copy.deepcopy(n)) for n in self.nodes]
        if res is TrainedModel:
            assert self.kserve_installed, "TrainedModels listed without checking for KServe"
            return [
                TrainedModel.from_dict(copy.deepcopy(model))
                for model in self.trained_models.values()
                if (labels or {}).items() <= model["metadata"].get("labels", {}).items()
            ]
        raise AssertionError(f"unexpected list of {kind}")

    def patch(
        self,
        res: Any,
        name: str,
        obj: Any,
        *,
        namespace: str | None = None,
        patch_type: PatchType = PatchType.STRATEGIC,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Any:
        kind = _kind(res)
        body = copy.deepcopy(dict(obj))
        self.sent.append(Sent("patch", kind, name, namespace, body, dry_run, force, field_manager))
        self._check("patch", kind)
        assert res is StatefulSet, f"unexpected patch of {kind}"
        assert patch_type == PatchType.APPLY, "the StatefulSet is only server-side applied"
        assert field_manager, "server-side apply needs a field manager"
        fake_api_rules.check_name(kind, name)
        merged = self._merge_apply(name, namespace, body, field_manager, force)
        self.warnings += fake_api_rules.store_resources(merged)
        validate_builtin(merged)
        if not dry_run:
            self.statefulsets[name] = merged
        return StatefulSet.from_dict(copy.deepcopy(merged))

    def apply(
        self,
        obj: Any,
        name: str | None = None,
        *,
        namespace: str | None = None,
        field_manager: str | None = None,
        force: bool = False,
        dry_run: bool = False,
    ) -> Any:
        body = copy.deepcopy(dict(obj))
        kind: str = body.get("kind", "")
        name = str(body["metadata"]["name"])
        namespace = body["metadata"].get("namespace")
        self.sent.append(Sent("apply", kind, name, namespace, body, dry_run, force, field_manager))
        self._check("apply", kind)
        assert isinstance(obj, (serverless.InferenceService, TrainedModel)), f"apply of {kind}"
        assert field_manager, "server-side apply needs a field manager"
        assert self.kserve_installed, f"{kind} applied without checking for KServe"
        fake_api_rules.check_custom_resource(body)
        validate_kserve(body)
        if not dry_run:
            store = self.trained_models if kind == "TrainedModel" else self.inference_services
            store[name] = body
        return obj

    def delete(
        self, res: Any, name: str, *, namespace: str | None = None, dry_run: bool = False, **_: Any
    ) -> None:
        kind = _kind(res)
        self.sent.append(Sent("delete", kind, name, namespace, dry_run=dry_run))
        self._check("delete", kind)
        assert res in (serverless.InferenceService, TrainedModel), f"unexpected delete of {kind}"
        store = self.trained_models if res is TrainedModel else self.inference_services
        if name not in store:
            raise api_error(404, f'{kind.lower()}s "{name}" not found')
        if not dry_run:
            del store[name]

    # --- server-side apply ----------------------------------------------------------

    def _merge_apply(
        self,
        name: str,
        namespace: str | None,
        body: dict[str, Any],
        manager: str,
        force: bool,
    ) -> dict[str, Any]:
        """The StatefulSet after a server-side apply of `body` by `manager`."""
        assert body.get("apiVersion") == "apps/v1", body
        assert body.get("kind") == "StatefulSet", body
        assert body["metadata"] == {"name": name, "namespace": namespace}, body["metadata"]
        assert set(body) == {"apiVersion", "kind", "metadata", "spec"}, sorted(body)
        live = copy.deepcopy(self.statefulset(name))
        live["metadata"]["namespace"] = namespace
        entries: list[dict[str, Any]] = live["metadata"]["managedFields"]
        mine = next((e for e in entries if e["manager"] == manager), None)
        others = [e for e in entries if e is not mine]
        applied: dict[str, dict[str, Any]] = {}
        live_containers = live["spec"]["template"]["spec"]["containers"]
        for config in body["spec"]["template"]["spec"]["containers"]:
            assert set(config) <= {"name", "resources"}, f"applies more than resources: {config}"
            container = next((c for c in live_containers if c["name"] == config["name"]), None)
            assert container is not None, f"no container {config['name']} to apply to"
            applied[config["name"]] = config.get("resources", {})
            _merge_resources(
                container,
                applied[config["name"]],
                previous=_owned(mine, config["name"]) if mine else set(),
                others=others,
                force=force,
            )
        live["metadata"]["managedFields"] = [*others, _managed(manager, "Apply", applied)]
        return live


def _merge_resources(
    container: dict[str, Any],
    wanted: dict[str, dict[str, str]],
    *,
    previous: set[tuple[str, str]],
    others: list[dict[str, Any]],
    force: bool,
) -> None:
    """Apply one container's resources with server-side apply's ownership rules."""
    owned_by_others = set().union(*(_owned(e, container["name"]) for e in others))
    resources: dict[str, dict[str, str]] = container.setdefault("resources", {})
    now = {(section, key) for section, values in wanted.items() for key in values}
    for section, key in previous - now:
        if (section, key) not in owned_by_others:
            resources.get(section, {}).pop(key, None)
    for section, key in now:
        value = wanted[section][key]
        current = resources.get(section, {}).get(key)
        if (
            (section, key) in owned_by_others
            and current != fake_quantity.stored(value)
            and not force
        ):
            raise api_error(409, f"conflict with {JUJU_MANAGER} on {section}.{key}")
        resources.setdefault(section, {})[key] = value
    for section in [s for s, values in resources.items() if not values]:
        del resources[section]
    if not resources:
        del container["resources"]
    if force:
        for entry in others:
            _disown(entry, container["name"], now)


def _disown(entry: dict[str, Any], container: str, fields: set[tuple[str, str]]) -> None:
    containers = entry["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    resources = containers.get(_container_key(container), {}).get("f:resources", {})
    for section, key in fields:
        resources.get(f"f:{section}", {}).pop(f"f:{key}", None)


def _crd_object() -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": serverless.INFERENCE_SERVICE_CRD},
        "spec": {
            "group": "serving.kserve.io",
            "names": {"kind": "InferenceService", "plural": "inferenceservices"},
            "scope": "Namespaced",
            "versions": [{"name": "v1beta1", "served": True, "storage": True}],
        },
    }
