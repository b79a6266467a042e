"""`ModelServerCharm`: the one charm implementation behind every runtime's charm.

A thin charm subclasses it and names its runtime. Every event that can change
what should run goes through one reconcile path, and the unit status is
computed from what is observed (configuration, Pebble, the server's own
readiness endpoint) in `collect_unit_status`, never remembered across hooks.
"""

from __future__ import annotations

import logging
from functools import cached_property
from typing import ClassVar

import ops

from model_server_charm import actions, bounded, credentials, deployment, rolling, serverless
from model_server_charm.config import CharmConfig, ConfigError, ServerConfig
from model_server_charm.credentials import CredentialsError, accepted_credentials
from model_server_charm.families import family_for
from model_server_charm.kubernetes_problems import KubernetesProblemError
from model_server_charm.layer import WORKLOAD_CONTAINER, ServerPlan
from model_server_charm.observability import dashboards, logs, metrics
from model_server_charm.runtimes import Runtime
from model_server_charm.server_client import ModelServerClient
from model_server_charm.workload import Workload

logger = logging.getLogger(__name__)

# A status line, not a traceback: the whole reason is in the server's log.
MAX_REASON_LENGTH = 200


class ModelServerCharm(ops.CharmBase):
    """Runs one model-serving runtime from its rock, as the thin charm's runtime says."""

    runtime: ClassVar[Runtime]

    def __init__(self, framework: ops.Framework):
        super().__init__(framework)
        self.family = family_for(self.runtime)
        # The models the family loads itself that did not load in this hook (proteus).
        self._models_problem: ops.StatusBase | None = None
        self.server = Workload(
            self.unit.get_container(WORKLOAD_CONTAINER),
            self.runtime.service_name,
            image_hint=f"is the server-image resource the {self.runtime.server_module} rock?",
            failure_file=self.family.failure_file,
        )
        # A change that restarts the server runs on one unit at a time.
        self._rollout = rolling.RollingRestart(
            self, self.server, wanted=self._wanted_plan, ready=self._model_ready_now
        )
        for event in (
            self.on.install,
            self.on.config_changed,
            self.on.upgrade_charm,
            self.on.update_status,
            self.on.secret_changed,
            self.on[WORKLOAD_CONTAINER].pebble_ready,
            self.on[WORKLOAD_CONTAINER].pebble_check_failed,
            self.on[WORKLOAD_CONTAINER].pebble_check_recovered,
        ):
            framework.observe(event, self._reconcile)
        # One observer per observability relation; each names the events it needs.
        self._metrics = metrics.MetricsEndpointProvider(self, self.runtime)
        self._dashboards = dashboards.GrafanaDashboardProvider(self, self.runtime)
        self._logs = logs.LogForwarder(self)
        for event in (
            self.on.leader_elected,  # the new leader (re)writes the application databags
            *self._metrics.events,
            *self._dashboards.events,
            *self._logs.events,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        self._actions = actions.ActionHandlers(
            self, self.family, lambda: self._config, self._client
        )
        # `stop` also comes with every pod restart: _on_removing checks the app is going.
        framework.observe(self.on.stop, self._on_removing)
        framework.observe(self.on.remove, self._on_removing)

    # --- state read from Juju -------------------------------------------------

    @cached_property
    def _config(self) -> CharmConfig | ConfigError:
        """The validated configuration (every option group of the charm), or every problem."""
        groups = [self.load_config(kind) for kind in self.family.group_kinds()]
        try:
            return CharmConfig.load(self.runtime, groups, self.load_config(ServerConfig))
        except ConfigError as error:
            return error

    @cached_property
    def _credentials(self) -> dict[str, str] | CredentialsError:
        """The storage-credentials secret's content (empty when none is configured).

        Read once per hook, like the configuration, or why it cannot be used.
        """
        config = self._config
        secret = None if isinstance(config, ConfigError) else config.server.storage_credentials
        if secret is None:
            return {}
        try:
            return accepted_credentials(secret.get_content(refresh=True))
        except CredentialsError as error:
            return error
        except ops.SecretNotFoundError:
            return CredentialsError(
                f"storage-credentials secret {secret.id} not found: create it with"
                " `juju add-secret` and set its ID again"
            )
        except ops.ModelError:
            return CredentialsError(
                f"cannot read storage-credentials secret {secret.id}: run"
                f" `juju grant-secret {secret.id} {self.app.name}`"
            )

    @cached_property
    def _local_model_ready(self) -> bool:
        """Whether the model in this pod answers its readiness URL; asked once per hook."""
        return self._model_ready_now()

    def _client(self, config: CharmConfig) -> ModelServerClient:
        """The server in this pod; in serverless mode, the InferenceService's cluster address."""
        if config.server.deployment_mode != "serverless":
            return self.family.local_client(config)
        try:
            address = self._deployment.inference_address()
        except KubernetesProblemError as error:
            raise actions.ActionFailedError(error.status.message) from error
        if not address:
            raise actions.ActionFailedError(
                "the InferenceService has no address yet: wait for it to be ready (juju status)"
            )
        return ModelServerClient(address)

    @cached_property
    def _deployment(self) -> deployment.Deployment:
        """The application's Kubernetes objects, read at most once per hook and shared."""
        return deployment.Deployment(
            app=self.app.name, namespace=self.model.name, leader=self.unit.is_leader()
        )

    def _image(self, config: CharmConfig) -> str:
        """The rock the predictor runs: the `image` option, else the charm's OCI resource."""
        if config.server.image:
            return config.server.image
        try:
            path = self.model.resources.fetch(serverless.IMAGE_RESOURCE)
        except (ops.ModelError, NameError) as error:
            raise serverless.ImageResourceError(
                f"no {serverless.IMAGE_RESOURCE} resource to run in serverless mode:"
                " attach it (juju attach-resource) or set the image option"
            ) from error
        return serverless.image_from_resource(path)

    # --- reconcile --------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        """Make the workload match the configuration; change nothing if it is invalid."""
        config = self._config
        if isinstance(config, ConfigError):
            logger.warning("configuration is invalid, workload left as it is: %s", config)
            return
        # Relation data needs no container: Prometheus and Grafana learn of the
        # unit even while its pod is still starting.
        self._metrics.publish(config)
        self._dashboards.publish()
        credentials = self._credentials
        if isinstance(credentials, CredentialsError):
            logger.warning("%s", credentials)
            return
        if config.server.deployment_mode == "serverless":
            self._reconcile_serverless(config)
        else:
            self._reconcile_sidecar(config, credentials)

    def _log_layers(self) -> dict[str, ops.pebble.LayerDict]:
        layer = self._logs.layer(self.server.plan().log_targets)
        return {logs.LAYER_NAME: layer} if layer else {}

    def _reconcile_sidecar(self, config: CharmConfig, secret: dict[str, str]) -> None:
        """The server runs in this pod, whatever the Kubernetes side could do.

        Pebble first: the readiness read after the replan is that of the server
        now planned, and a leftover InferenceService is deleted only once it serves;
        a change that restarts a serving server waits for this unit's turn.
        """
        if self.server.can_connect():
            plan = self._server_plan(config, secret)
            if self._rollout.converge(plan, serving=self.family.model_ready(config)):
                # Only the command: the environment may hold storage credentials.
                logger.info("server plan changed: %s", self.family.command(config))
            self.unit.set_ports(config.server.http_port, config.server.grpc_port)
        self._deployment.reconcile_sidecar(config, lambda: self._local_model_ready)
        if self._local_model_ready:
            # Armed only now: the port opens once the model is loaded, which may take
            # minutes, and an armed liveness check would restart a slow download.
            self.server.arm_alive_check()
            self._models_problem = self.family.converge_models(
                self.server, self.family.local_client(config), config
            )

    def _server_plan(self, config: CharmConfig, secret: dict[str, str]) -> ServerPlan:
        return ServerPlan(
            server={self.runtime.service_name: self.family.layer(config, secret)},
            others=self._log_layers(),
            files=credentials.credential_files(secret),
            managed_files=(credentials.GCS_CREDENTIALS_FILE,),
        )

    def _wanted_plan(self) -> ServerPlan | None:
        """The plan this unit should serve now (None: invalid configuration, serverless mode)."""
        config, secret = self._config, self._credentials
        if isinstance(config, ConfigError) or isinstance(secret, CredentialsError):
            return None
        serverless = config.server.deployment_mode == "serverless"
        return None if serverless else self._server_plan(config, secret)

    def _model_ready_now(self) -> bool:  # asked afresh: a rolling restart polls it
        config = self._config
        return not isinstance(config, ConfigError) and self.family.model_ready(config)

    def _reconcile_serverless(self, config: CharmConfig) -> None:
        """KServe serves the model: once its InferenceService does, stop this pod's server."""
        may_stop = self._deployment.reconcile_serverless(
            config,
            self.family.predictor(config),
            lambda: self._image(config),
            lambda: self._local_model_ready,
        )
        if not self.server.can_connect():
            return
        self.server.add_layers(self._log_layers())
        if may_stop:
            self.server.stop()
            self.unit.set_ports()

    # --- status -------------------------------------------------------------------

    def _on_collect_unit_status(self, event: ops.CollectStatusEvent) -> None:
        config = self._config
        if isinstance(config, ConfigError):
            event.add_status(bounded.status(ops.BlockedStatus(f"invalid config: {config}")))
            return
        if isinstance(self._credentials, CredentialsError):
            event.add_status(bounded.status(ops.BlockedStatus(str(self._credentials))))
            return
        serverless_mode = config.server.deployment_mode == "serverless"
        local_serving = serverless_mode and self._local_model_ready
        workload_status = None if serverless_mode else self._workload_status(config)
        served = self.family.served(config)
        kubernetes = self._deployment.status(config, served, local_serving)
        # Read last: the reads above may have met a Pebble fault. Of equal
        # priority, the first added wins: Pebble's problem, then Kubernetes'.
        statuses = (
            self.server.problem,
            self._models_problem,
            kubernetes,
            None if serverless_mode else self._rollout.status(),
            workload_status,
        )
        for status in statuses:
            if status is not None:
                event.add_status(bounded.status(status))

    def _workload_status(self, config: CharmConfig) -> ops.StatusBase:
        if not self.server.can_connect():
            return ops.WaitingStatus("waiting for the server container (Pebble not ready)")
        service = self.server.service()
        if service is None:
            return ops.WaitingStatus("waiting for the server to be configured")
        if self._local_model_ready:
            return ops.ActiveStatus(self._serving_message(config))
        failure = self.server.failure_reason(MAX_REASON_LENGTH)
        if failure:
            return ops.WaitingStatus(f"model failed to load (Pebble retries): {failure}")
        if not service.is_running():
            current = service.current
            state = current.value if isinstance(current, ops.pebble.ServiceStatus) else current
            return ops.WaitingStatus(f"server is {state}; see juju debug-log")
        loading = self.family.loading_message(config)
        if self._rollout.alone():
            loading += f"; {rolling.SINGLE_UNIT_NOTE}"
        return ops.WaitingStatus(loading)

    def _serving_message(self, config: CharmConfig) -> str:
        message = self.family.serving_message(config)
        if config.server.autoscaling_target and not config.server.autoscaling_active:
            message += "; autoscaling-target inactive in sidecar mode"
        return message

    # --- removal ------------------------------------------------------------------

    def _on_removing(self, _: ops.EventBase) -> None:
        """Delete the InferenceService when the application goes, not when a unit does."""
        if self.unit.is_leader() and self.app.planned_units() == 0:
            self._deployment.remove()
