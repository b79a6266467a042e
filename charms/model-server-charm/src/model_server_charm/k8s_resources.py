"""The workload container's resource limits, on the charm's own StatefulSet.

Juju creates the StatefulSet and offers no way to set a workload container's
limits, and the observability-libs resource patch only knows cpu and memory. So
the charm server-side applies the `resources` of its `server` container itself,
under a field manager of its own:

- what the charm wants is the whole truth about the fields it manages: an
  apply configuration that no longer names a limit makes the API server drop
  it (a field that no other manager owns is removed when its only manager
  stops applying it), so a count set back to 0 simply disappears;
- fields Juju set (for example a memory limit from `--constraints mem=`) are
  taken over with `force` only when an option names them, and left alone
  otherwise;
- the charm applies only when a field it manages differs from the live object,
  because every change rolls the application's pods.

Extended resources (devices) cannot be overcommitted, so their requests equal
their limits; cpu and memory get limits only (Kubernetes then requests the
same amount).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lightkube import ApiError, Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Node, Pod
from lightkube.types import PatchType
from lightkube.utils.quantity import parse_quantity

from model_server_charm.config import CharmConfig
from model_server_charm.kube_api import observed

# The field manager that owns the charm's fields on every object it applies.
FIELD_MANAGER = "kserve-bundle"
# Quantities the scheduler counts as whole devices rather than cpu/memory.
NATIVE_RESOURCES = frozenset({"cpu", "memory", "ephemeral-storage"})
# Juju labels every pod of an application with its name.
APP_LABEL = "app.kubernetes.io/name"

Section = Literal["limits", "requests"]
SECTIONS: tuple[Section, ...] = ("limits", "requests")


def kube_client() -> Client:
    """A client for the cluster the unit runs in, with the charm's field manager and hooks.

    Module-level so that tests replace the client at this one boundary.
    """
    return observed(Client(field_manager=FIELD_MANAGER))


def is_forbidden(error: ApiError) -> bool:
    """Whether an API error is a 403: the application has not been trusted."""
    return error.status.code == 403


def is_not_found(error: ApiError) -> bool:
    """Whether an API error is a 404."""
    return error.status.code == 404


@dataclass(frozen=True)
class ResourceRequirements:
    """A container's `resources`: limits and requests, by resource name."""

    limits: dict[str, str] = field(default_factory=dict[str, str])
    requests: dict[str, str] = field(default_factory=dict[str, str])

    def section(self, name: Section) -> dict[str, str]:
        """The limits or the requests."""
        return self.limits if name == "limits" else self.requests

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The Kubernetes form, without empty sections."""
        return {name: dict(self.section(name)) for name in SECTIONS if self.section(name)}

    @property
    def extended(self) -> dict[str, int]:
        """The device counts among the limits (everything but cpu, memory, storage)."""
        return {
            name: int(value) for name, value in self.limits.items() if name not in NATIVE_RESOURCES
        }

    def __bool__(self) -> bool:
        return bool(self.limits or self.requests)


def wanted_resources(config: CharmConfig) -> ResourceRequirements:
    """The server container's resources as the configuration asks for them."""
    limits: dict[str, str] = {}
    if config.server.cpu:
        limits["cpu"] = config.server.cpu
    if config.server.memory:
        limits["memory"] = config.server.memory
    extended = {name: str(count) for name, count in config.extended_resources().items()}
    return ResourceRequirements(limits={**limits, **extended}, requests=extended)


@dataclass(frozen=True)
class Owner:
    """The object whose deletion deletes what the charm created (the app's StatefulSet)."""

    name: str
    uid: str


class StatefulSetShapeError(Exception):
    """The StatefulSet is not as Juju makes it (no pod template, no server container)."""


def _pod_spec(statefulset: StatefulSet) -> Any:
    pod_spec = statefulset.spec.template.spec if statefulset.spec else None
    if pod_spec is None:
        name = statefulset.metadata.name if statefulset.metadata else "?"
        raise StatefulSetShapeError(f"StatefulSet {name} has no pod template")
    return pod_spec


def container_of(statefulset: StatefulSet, container: str) -> Any:
    """The named container of the StatefulSet's pod template."""
    for candidate in _pod_spec(statefulset).containers:
        if candidate.name == container:
            return candidate
    name = statefulset.metadata.name if statefulset.metadata else "?"
    raise StatefulSetShapeError(f"StatefulSet {name} has no container {container}")


def live_resources(statefulset: StatefulSet, container: str) -> ResourceRequirements:
    """What the StatefulSet's container carries now."""
    resources = container_of(statefulset, container).resources
    if resources is None:
        return ResourceRequirements()
    return ResourceRequirements(
        limits={k: str(v) for k, v in (resources.limits or {}).items()},
        requests={k: str(v) for k, v in (resources.requests or {}).items()},
    )


def owned_resources(
    statefulset: StatefulSet, container: str, manager: str = FIELD_MANAGER
) -> dict[Section, set[str]]:
    """The container's resource names this field manager owns, from `managedFields`.

    These are the fields an apply without them would remove; anything else in
    `resources` belongs to someone else (Juju) and is not the charm's to compare.
    """
    owned: dict[Section, set[str]] = {"limits": set(), "requests": set()}
    key = "k:" + json.dumps({"name": container}, separators=(",", ":"))
    managed = statefulset.metadata.managedFields if statefulset.metadata else None
    for entry in managed or []:
        if entry.manager != manager or entry.operation != "Apply":
            continue
        fields: Mapping[str, Any] = entry.fieldsV1 or {}
        for step in ("f:spec", "f:template", "f:spec", "f:containers", key, "f:resources"):
            fields = fields.get(step) or {}
        for section in SECTIONS:
            owned[section] |= {
                name.removeprefix("f:") for name in fields.get(f"f:{section}", {}) if name != "."
            }
    return owned


def _same_quantity(live: str | None, wanted: str | None) -> bool:
    # The API server stores quantities canonically (0.5 becomes 500m), so compare values.
    if live is None or wanted is None:
        return live == wanted
    try:
        return parse_quantity(live) == parse_quantity(wanted)
    except ValueError:
        return live == wanted


def needs_apply(
    wanted: ResourceRequirements, live: ResourceRequirements, owned: dict[Section, set[str]]
) -> bool:
    """Whether a field the charm wants or owns differs from the live object."""
    for section in SECTIONS:
        names = set(wanted.section(section)) | owned[section]
        for name in names:
            if not _same_quantity(
                live.section(section).get(name), wanted.section(section).get(name)
            ):
                return True
    return False


def apply_configuration(
    name: str, namespace: str, container: str, wanted: ResourceRequirements
) -> dict[str, Any]:
    """The server-side apply body: the container, by name, and only its resources.

    A partial object on purpose: every field in it becomes the charm's. The
    containers list is merged by name, so the rest of the pod template stays Juju's.
    """
    entry: dict[str, Any] = {"name": container}
    if wanted:
        entry["resources"] = wanted.to_dict()
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"template": {"spec": {"containers": [entry]}}},
    }


class StatefulSetResources:
    """The charm's own StatefulSet, as far as the server container's resources go."""

    def __init__(self, client: Client, name: str, namespace: str, container: str):
        self.client = client
        self.name = name
        self.namespace = namespace
        self.container = container
        self._statefulset: StatefulSet | None = None

    @property
    def statefulset(self) -> StatefulSet:
        """The live StatefulSet, read once per hook."""
        if self._statefulset is None:
            self._statefulset = self.client.get(StatefulSet, self.name, namespace=self.namespace)
        return self._statefulset

    def needs_apply(self, wanted: ResourceRequirements) -> bool:
        """Whether applying `wanted` would change the live StatefulSet."""
        return needs_apply(
            wanted,
            live_resources(self.statefulset, self.container),
            owned_resources(self.statefulset, self.container),
        )

    def apply(self, wanted: ResourceRequirements, *, dry_run: bool = False) -> None:
        """Server-side apply the container's resources (force: the options are the authority)."""
        self.client.patch(
            StatefulSet,
            self.name,
            apply_configuration(self.name, self.namespace, self.container, wanted),
            namespace=self.namespace,
            patch_type=PatchType.APPLY,
            field_manager=FIELD_MANAGER,
            force=True,
            dry_run=dry_run,
        )
        if not dry_run:
            self._statefulset = None

    def owner(self) -> Owner:
        """The StatefulSet as the owner of what the charm creates (deleted with it)."""
        metadata = self.statefulset.metadata
        return Owner(
            name=(metadata.name if metadata else None) or self.name,
            uid=(metadata.uid if metadata else None) or "",
        )

    def image_pull_secrets(self) -> list[str]:
        """The pull secrets Juju gave the pod (they also fetch the rock for KServe)."""
        secrets = _pod_spec(self.statefulset).imagePullSecrets or []
        return [secret.name for secret in secrets if secret.name]

    def unschedulable_pods(self) -> list[str]:
        """'<pod>: <scheduler message>' for every pod of the application the scheduler rejects."""
        pods = self.client.list(Pod, namespace=self.namespace, labels={APP_LABEL: self.name})
        problems: list[str] = []
        for pod in pods:
            conditions = (pod.status.conditions if pod.status else None) or []
            for condition in conditions:
                if (
                    condition.type == "PodScheduled"
                    and condition.status == "False"
                    and condition.reason == "Unschedulable"
                ):
                    name = pod.metadata.name if pod.metadata else "?"
                    problems.append(f"{name}: {condition.message or 'unschedulable'}")
        return sorted(problems)


def devices_no_node_offers(client: Client, wanted: ResourceRequirements) -> list[str]:
    """The device counts that no node could ever satisfy ('1 xilinx.com/fpga-…').

    Asking for them would leave the application's pod unschedulable, and a pod
    that never starts has no charm left to take the request back: so the charm
    checks the nodes' allocatable devices first and applies nothing instead.
    """
    if not wanted.extended:
        return []
    best: dict[str, int] = dict.fromkeys(wanted.extended, 0)
    for node in client.list(Node):
        allocatable = (node.status.allocatable if node.status else None) or {}
        for name in best:
            try:
                best[name] = max(best[name], int(str(allocatable.get(name, "0"))))
            except ValueError:
                continue
    return [f"{count} {name}" for name, count in wanted.extended.items() if best[name] < count]
