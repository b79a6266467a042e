"""The application's objects in the cluster, for one hook: read once, written safely.

`Cluster` holds what every mode needs: the API client (made only when a hook
needs the API), the application's StatefulSet and InferenceService, the one
problem this hook met (reported by the unit's status), and the writes: several
at once are dry-run first (`kubernetes_problems.write_all`). `Deployment`
(deployment.py) decides, per deployment mode, what to read and write.
"""

from __future__ import annotations

import logging
from functools import cached_property

import ops
from lightkube import Client

from model_server_charm import k8s_resources
from model_server_charm.k8s_resources import (
    ResourceRequirements,
    StatefulSetResources,
    devices_no_node_offers,
)
from model_server_charm.kubernetes_problems import (
    KUBERNETES_ERRORS,
    KubernetesError,
    KubernetesProblemError,
    Write,
    describe,
    problem_status,
    write_all,
)
from model_server_charm.layer import WORKLOAD_CONTAINER
from model_server_charm.serverless import InferenceServices, InferenceServiceState
from model_server_charm.trained_models import TrainedModels

logger = logging.getLogger(__name__)


class Cluster:
    """The application's Kubernetes objects; only the leader writes, every unit reads."""

    def __init__(self, *, app: str, namespace: str, leader: bool):
        self.app = app
        self.namespace = namespace
        self.leader = leader
        # What this hook could not do, reported by `status`.
        self.problem: ops.StatusBase | None = None

    @cached_property
    def client(self) -> Client:
        """The API client, made only when a hook needs the API."""
        return k8s_resources.kube_client()

    @cached_property
    def statefulset(self) -> StatefulSetResources:
        """The application's StatefulSet (Juju names it after the application)."""
        return StatefulSetResources(self.client, self.app, self.namespace, WORKLOAD_CONTAINER)

    @cached_property
    def inference_services(self) -> InferenceServices:
        """The application's InferenceService."""
        return InferenceServices(self.client, self.app, self.namespace)

    @cached_property
    def trained_models(self) -> TrainedModels:
        """The application's TrainedModels (a multi-model server's, serverless mode)."""
        return TrainedModels(self.client, self.app, self.namespace)

    def remove(self) -> None:
        """Delete the InferenceService: the application is going away.

        Never fails: the StatefulSet owns the InferenceService, so Kubernetes
        deletes it with the application even when this cannot.
        """
        try:
            if self.inference_services.kserve_installed():
                self.inference_services.delete()
                self.trained_models.delete_all()
        except KUBERNETES_ERRORS as error:
            logger.warning(
                "InferenceService not deleted (%s); its owner reference removes it with the"
                " application",
                describe(error),
            )

    def _check_devices(self, wanted: ResourceRequirements) -> None:
        missing = devices_no_node_offers(self.client, wanted)
        if missing:
            raise self._blocked(
                f"no node offers {', '.join(missing)}: check the option and the device"
                " plugin (limits not applied)"
            )

    def _write(self, writes: list[Write]) -> None:
        try:
            write_all(writes, self.app)
        except KubernetesProblemError as problem:
            raise self._record(problem.status) from problem

    def inference_service(self) -> InferenceServiceState | None:
        """What KServe reports about the InferenceService (None: there is none).

        Raises KubernetesProblemError saying what to do when the API cannot tell.
        """
        try:
            live = self.inference_services.get()
        except KUBERNETES_ERRORS as error:
            status = problem_status(error, self.app, required=True)
            raise KubernetesProblemError(status or ops.WaitingStatus(describe(error))) from error
        return InferenceServiceState.from_object(live) if live is not None else None

    def _fault(self, error: KubernetesError, *, required: bool) -> None:
        status = problem_status(error, self.app, required=required)
        if status is not None:
            self._record(status)

    def _blocked(self, message: str) -> KubernetesProblemError:
        return self._record(ops.BlockedStatus(message))

    def _record(self, status: ops.StatusBase) -> KubernetesProblemError:
        self.problem = status
        logger.warning("Kubernetes side not done: %s", status.message)
        return KubernetesProblemError(status)
