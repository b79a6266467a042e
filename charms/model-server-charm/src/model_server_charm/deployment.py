"""The Kubernetes side of the deployment mode, changed so that the model is always served.

What the cluster must hold, by `deployment-mode`:

- sidecar: the application's StatefulSet carries the server container's
  resource limits; there is no InferenceService;
- serverless: an InferenceService serves the model with those resources, and
  the StatefulSet carries none of the charm's limits (its server is stopped, and
  a device held by an idle container would be a device the predictor cannot get).

Make before break: switching modes, the old server is taken away only once the
new one serves — the InferenceService is deleted once the unit's own server
answers for the model, and the unit's server stops once the InferenceService
is Ready. Devices are the exception: a device cannot be held by both, so when
the configuration asks for devices the switch frees them first.

When one hook needs several writes they are sent as server-side dry runs first,
so a refusal (403, an admission webhook) leaves the cluster as it was; when a
real write fails after an earlier one succeeded, the status says what was done
and what was not, and the next hook finishes the job. No API fault escapes:
each becomes a status (`kubernetes_problems`). Only the leader writes; every
unit reads, to report in its own status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import ops

from model_server_charm.cluster import Cluster
from model_server_charm.config import CharmConfig
from model_server_charm.k8s_resources import Owner, ResourceRequirements, wanted_resources
from model_server_charm.kubernetes_problems import (
    KUBERNETES_ERRORS,
    KubernetesProblemError,
    Write,
    problem_status,
)
from model_server_charm.serverless import (
    ImageResourceError,
    InferenceServiceState,
    Predictor,
    name_problems,
    render_inference_service,
)
from model_server_charm.trained_models import render_trained_model

logger = logging.getLogger(__name__)

KSERVE_MISSING = (
    "KServe is not installed (no InferenceService CRD): install KServe"
    " or set deployment-mode=sidecar"
)
NO_LIMITS = ResourceRequirements()


class Deployment(Cluster):
    """What each deployment mode makes of the application's objects."""

    def __init__(self, *, app: str, namespace: str, leader: bool):
        super().__init__(app=app, namespace=namespace, leader=leader)
        # Sidecar mode: an InferenceService left from serverless mode still serves.
        self.leftover_inference_service = False

    # --- reconcile -----------------------------------------------------------------

    def reconcile_sidecar(
        self, config: CharmConfig, local_model_ready: Callable[[], bool]
    ) -> None:
        """Limits on the StatefulSet; a leftover InferenceService deleted once the unit serves.

        Without limits to set, the charm needs no permissions: a fault then only
        means the application runs without --trust (or the API is down), and the
        unit serves all the same.
        """
        wanted = wanted_resources(config)
        if not (self.leader or wanted):
            return
        try:
            self._reconcile_sidecar(wanted, local_model_ready)
        except KubernetesProblemError as problem:
            self.problem = problem.status
        except KUBERNETES_ERRORS as error:
            self._fault(error, required=bool(wanted))

    def _reconcile_sidecar(
        self, wanted: ResourceRequirements, local_model_ready: Callable[[], bool]
    ) -> None:
        statefulset = self.statefulset
        # Read on every unit: it is also how a non-leader finds it is not trusted.
        needs_apply = statefulset.needs_apply(wanted)
        if not self.leader:
            return
        services = self.inference_services
        leftover = services.kserve_installed() and services.get() is not None
        writes: list[Write] = []
        if needs_apply:
            self._check_devices(wanted)
            if leftover and wanted.extended:
                # The predictor holds the devices this application's pods now ask for.
                writes.append(Write(f"deleted {services.name}", self._delete_inference_service))
                leftover = False
            writes.append(
                Write(
                    "applied the server's limits to the StatefulSet",
                    lambda dry_run: statefulset.apply(wanted, dry_run=dry_run),
                )
            )
        self._write(writes)
        if leftover and local_model_ready():
            self._delete_inference_service(dry_run=False)
            leftover = False
        self.leftover_inference_service = leftover

    def reconcile_serverless(
        self,
        config: CharmConfig,
        predictor: Predictor,
        image: Callable[[], str],
        local_model_ready: Callable[[], bool],
    ) -> bool:
        """An InferenceService running `predictor`; the StatefulSet's limits go once it serves.

        Returns whether the unit may stop its own server: the InferenceService
        is Ready, the configuration asks for devices the predictor needs, or the
        unit's server does not serve the model anyway. Not after a fault.
        """
        try:
            return self._reconcile_serverless(config, predictor, image, local_model_ready)
        except KubernetesProblemError as problem:
            self.problem = problem.status
        except KUBERNETES_ERRORS as error:
            self._fault(error, required=True)
        return False

    def _reconcile_serverless(
        self,
        config: CharmConfig,
        predictor: Predictor,
        image: Callable[[], str],
        local_model_ready: Callable[[], bool],
    ) -> bool:
        if problems := name_problems(self.app):
            raise self._blocked(
                f"cannot name the application's KServe objects: {'; '.join(problems)}"
            )
        services = self.inference_services
        if not services.kserve_installed():
            raise self._blocked(KSERVE_MISSING)
        frees_devices = bool(wanted_resources(config).extended)
        if self.leader:
            self._apply_inference_service(config, predictor, image, frees_devices)
        live = services.get()
        served = live is not None and InferenceServiceState.from_object(live).ready
        if served and self.leader and self.statefulset.needs_apply(NO_LIMITS):
            self._write([self._remove_limits()])
        return served or frees_devices or not local_model_ready()

    def _apply_inference_service(
        self,
        config: CharmConfig,
        predictor: Predictor,
        image: Callable[[], str],
        frees_devices: bool,
    ) -> None:
        statefulset = self.statefulset
        try:
            reference = image()
        except ImageResourceError as error:
            raise self._blocked(str(error)) from error
        obj = render_inference_service(
            predictor,
            config,
            app=self.app,
            namespace=self.namespace,
            image=reference,
            resources=wanted_resources(config),
            owner=statefulset.owner(),
            image_pull_secrets=tuple(statefulset.image_pull_secrets()),
        )
        services = self.inference_services
        writes = [
            Write(
                f"applied {services.name}",
                lambda dry_run: services.apply(obj, dry_run=dry_run),
            )
        ]
        writes += self._trained_model_writes(predictor.trained_models, statefulset.owner())
        if frees_devices and statefulset.needs_apply(NO_LIMITS):
            writes.append(self._remove_limits())
        self._write(writes)

    def _trained_model_writes(
        self, trained: list[dict[str, str]] | None, owner: Owner
    ) -> list[Write]:
        """One TrainedModel per model; those the charm made that are no longer listed go."""
        if trained is None:
            return []
        models = self.trained_models
        writes: list[Write] = []
        for model in trained:
            obj = render_trained_model(model, app=self.app, namespace=self.namespace, owner=owner)
            writes.append(
                Write(
                    f"applied TrainedModel {model['name']}",
                    lambda dry_run, obj=obj: models.apply(obj, dry_run=dry_run),
                )
            )
        for name in sorted(models.names() - {model["name"] for model in trained}):
            writes.append(
                Write(
                    f"deleted TrainedModel {name}",
                    lambda dry_run, name=name: models.delete(name, dry_run=dry_run),
                )
            )
        return writes

    def _remove_limits(self) -> Write:
        statefulset = self.statefulset
        return Write(
            "removed the server's limits from the StatefulSet",
            lambda dry_run: statefulset.apply(NO_LIMITS, dry_run=dry_run),
        )

    def _delete_inference_service(self, dry_run: bool) -> None:
        self.inference_services.delete(dry_run=dry_run)
        if not dry_run:
            self.trained_models.delete_all()

    # --- status --------------------------------------------------------------------

    def status(
        self, config: CharmConfig, served: str, local_serving: bool
    ) -> ops.StatusBase | None:
        """The Kubernetes side's contribution to the unit status (None: nothing to say)."""
        if self.problem is not None:
            return self.problem
        try:
            if config.server.deployment_mode == "serverless":
                return self._serverless_status(served, local_serving)
            return self._sidecar_status(config)
        except KubernetesProblemError as problem:
            return problem.status
        except KUBERNETES_ERRORS as error:
            serverless = config.server.deployment_mode == "serverless"
            required = serverless or bool(wanted_resources(config))
            return problem_status(error, self.app, required=required)

    def _sidecar_status(self, config: CharmConfig) -> ops.StatusBase | None:
        if self.leftover_inference_service:
            return ops.WaitingStatus(
                f"{self.inference_services.name} serves until this unit's model is ready,"
                " then the charm deletes it"
            )
        wanted = wanted_resources(config)
        if not wanted:
            return None
        if self.leader and wanted.extended and self.statefulset.needs_apply(wanted):
            self._check_devices(wanted)
        pods = self.statefulset.unschedulable_pods()
        if pods:
            more = f" (and {len(pods) - 1} more)" if len(pods) > 1 else ""
            return ops.WaitingStatus(f"cannot schedule pod {pods[0]}{more}")
        return None

    def _serverless_status(self, served: str, local_serving: bool) -> ops.StatusBase:
        services = self.inference_services
        if not services.kserve_installed():
            return ops.BlockedStatus(KSERVE_MISSING)
        live = services.get()
        meanwhile = "; this unit serves until then" if local_serving else ""
        if live is None:
            who = "the charm" if self.leader else "the leader"
            return ops.WaitingStatus(f"waiting for {who} to create {services.name}{meanwhile}")
        state = InferenceServiceState.from_object(live)
        if state.ready:
            return ops.ActiveStatus(f"{served} ready at {state.url}")
        detail = ": ".join(part for part in (state.reason, state.message) if part)
        return ops.WaitingStatus(
            f"InferenceService {services.name} not ready:"
            f" {detail or 'no Ready condition yet'}{meanwhile}"
        )
