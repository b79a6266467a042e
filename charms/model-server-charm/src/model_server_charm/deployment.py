"""The Kubernetes side of the deployment mode, applied all or nothing.

What the cluster must hold, by `deployment-mode`:

- sidecar: the application's StatefulSet carries the server container's
  resource limits; there is no InferenceService;
- serverless: an InferenceService serves the model with those resources, and
  the StatefulSet carries none of the charm's limits (its server is stopped, and
  a device held by an idle container would be a device the predictor cannot get).

All or nothing: every read comes first; when a hook needs more than one write,
each is sent as a server-side dry run before any is sent for real, so a 403 or
an admission webhook's refusal leaves the cluster as it was. The charm changes
Pebble only after this module succeeded, so a refused change is not half made.

Only the leader writes; every unit reads, to report in its own status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator
from contextlib import contextmanager
from functools import cached_property

import ops
from lightkube import ApiError, Client

from model_server_charm import k8s_resources
from model_server_charm.config import ServerConfig
from model_server_charm.k8s_resources import (
    ResourceRequirements,
    StatefulSetResources,
    devices_no_node_offers,
    is_forbidden,
    wanted_resources,
)
from model_server_charm.runtimes import Runtime
from model_server_charm.serverless import (
    ImageResourceError,
    InferenceServices,
    InferenceServiceState,
    Owner,
    render_inference_service,
)
from model_server_charm.workload import WORKLOAD_CONTAINER

logger = logging.getLogger(__name__)

KSERVE_MISSING = (
    "KServe is not installed (no InferenceService CRD): install KServe"
    " or set deployment-mode=sidecar"
)

# One write, called with dry_run=True first when a hook needs several.
Write = Callable[[bool], None]


def trust_message(app: str) -> str:
    """What the operator runs to give the charm the Kubernetes permissions it needs."""
    return f"run: juju trust {app} --scope=cluster"


class KubernetesProblemError(Exception):
    """The cluster cannot be made to match the configuration; `status` tells the operator."""

    def __init__(self, status: ops.StatusBase):
        super().__init__(status.message)
        self.status = status


class Deployment:
    """The application's Kubernetes objects for one hook: read once, written by the leader."""

    def __init__(self, *, app: str, namespace: str, leader: bool):
        self.app = app
        self.namespace = namespace
        self.leader = leader
        # A problem met while reconciling in this hook, reported by `status`.
        self.problem: KubernetesProblemError | None = None

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

    # --- reconcile -----------------------------------------------------------------

    def reconcile_sidecar(self, config: ServerConfig) -> None:
        """Limits on the StatefulSet, no InferenceService.

        Without limits to set, the charm needs no permissions: a 403 then only
        means the application was deployed without --trust, which is fine.
        """
        wanted = wanted_resources(config)
        with self._api(required=bool(wanted)):
            statefulset = self.statefulset
            # Read on every unit: it is also how a non-leader finds it is not trusted.
            needs_apply = statefulset.needs_apply(wanted)
            if not self.leader:
                return
            services = self.inference_services
            writes: list[Write] = []
            if services.kserve_installed() and services.get() is not None:
                writes.append(lambda dry_run: services.delete(dry_run=dry_run))
            if needs_apply:
                self._check_devices(wanted)
                writes.append(lambda dry_run: statefulset.apply(wanted, dry_run=dry_run))
            self._write(writes)

    def reconcile_serverless(
        self, runtime: Runtime, config: ServerConfig, image: Callable[[], str]
    ) -> bool:
        """An InferenceService, no limits of the charm's on the StatefulSet.

        Returns whether the InferenceService exists, that is whether the unit
        may stop its own server without leaving nothing to serve the model.
        """
        with self._api(required=True):
            services = self.inference_services
            if not services.kserve_installed():
                raise self._record(ops.BlockedStatus(KSERVE_MISSING))
            if not self.leader:
                return services.get() is not None
            statefulset = self.statefulset
            try:
                reference = image()
            except ImageResourceError as error:
                raise self._record(ops.BlockedStatus(str(error))) from error
            metadata = statefulset.statefulset.metadata
            owner = Owner(
                name=(metadata.name if metadata else None) or self.app,
                uid=(metadata.uid if metadata else None) or "",
            )
            obj = render_inference_service(
                runtime,
                config,
                app=self.app,
                namespace=self.namespace,
                image=reference,
                resources=wanted_resources(config),
                owner=owner,
                image_pull_secrets=tuple(statefulset.image_pull_secrets()),
            )
            writes: list[Write] = [lambda dry_run: services.apply(obj, dry_run=dry_run)]
            none = ResourceRequirements()
            if statefulset.needs_apply(none):
                writes.append(lambda dry_run: statefulset.apply(none, dry_run=dry_run))
            self._write(writes)
            return True
        return False

    def remove(self) -> None:
        """Delete the InferenceService: the application is going away."""
        with self._api(required=False):
            if self.inference_services.kserve_installed():
                self.inference_services.delete()

    def _check_devices(self, wanted: ResourceRequirements) -> None:
        missing = devices_no_node_offers(self.client, wanted)
        if missing:
            raise self._record(
                ops.BlockedStatus(
                    f"no node offers {', '.join(missing)}: check the option and the device"
                    " plugin (limits not applied)"
                )
            )

    @staticmethod
    def _write(writes: list[Write]) -> None:
        if len(writes) > 1:
            for write in writes:
                write(True)
        for write in writes:
            write(False)

    # --- status --------------------------------------------------------------------

    def status(self, runtime: Runtime, config: ServerConfig) -> ops.StatusBase | None:
        """The Kubernetes side's contribution to the unit status (None: nothing to say)."""
        if self.problem is not None:
            return self.problem.status
        try:
            if config.deployment_mode == "serverless":
                return self._serverless_status(config)
            return self._sidecar_status(config)
        except KubernetesProblemError as problem:
            return problem.status

    def _sidecar_status(self, config: ServerConfig) -> ops.StatusBase | None:
        wanted = wanted_resources(config)
        with self._api(required=bool(wanted)):
            if self.leader and wanted.extended and self.statefulset.needs_apply(wanted):
                self._check_devices(wanted)
            pods = self.statefulset.unschedulable_pods()
            if pods:
                more = f" (and {len(pods) - 1} more)" if len(pods) > 1 else ""
                return ops.WaitingStatus(f"cannot schedule pod {pods[0]}{more}")
        return None

    def _serverless_status(self, config: ServerConfig) -> ops.StatusBase | None:
        with self._api(required=True):
            services = self.inference_services
            if not services.kserve_installed():
                return ops.BlockedStatus(KSERVE_MISSING)
            live = services.get()
            if live is None:
                who = "the charm" if self.leader else "the leader"
                return ops.WaitingStatus(f"waiting for {who} to create {services.name}")
            state = InferenceServiceState.from_object(live)
            if state.ready:
                return ops.ActiveStatus(f"{config.model_name} ready at {state.url}")
            detail = ": ".join(part for part in (state.reason, state.message) if part)
            return ops.WaitingStatus(
                f"InferenceService {services.name} not ready: {detail or 'no Ready condition yet'}"
            )
        return None

    def inference_address(self) -> str:
        """Where the InferenceService answers inside the cluster ('' while it has none)."""
        with self._api(required=True):
            live = self.inference_services.get()
            if live is not None:
                return InferenceServiceState.from_object(live).address
        return ""

    # --- errors --------------------------------------------------------------------

    def _record(self, status: ops.StatusBase) -> KubernetesProblemError:
        self.problem = KubernetesProblemError(status)
        logger.warning("Kubernetes side not applied: %s", status.message)
        return self.problem

    @contextmanager
    def _api(self, *, required: bool) -> Generator[None, None, None]:
        """Turn API errors into what the operator must see.

        A 403 means the application is not trusted: Blocked with the command to
        run when the configuration needs the API (`required`); otherwise the
        block is skipped, as nothing the operator asked for depends on it.
        """
        try:
            yield
        except ApiError as error:
            if is_forbidden(error):
                if required:
                    raise self._record(ops.BlockedStatus(trust_message(self.app))) from error
                logger.info("no Kubernetes permissions, and none needed: %s", error)
                return
            code = error.status.code
            if code in (400, 422):
                raise self._record(
                    ops.BlockedStatus(f"Kubernetes refused the change: {error.status.message}")
                ) from error
            raise self._record(
                ops.WaitingStatus(f"Kubernetes API error {code}: {error.status.message}")
            ) from error
