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
from cosl import JujuTopology

from model_server_charm import (
    actions,
    bounded,
    credentials,
    deployment,
    rolling,
    serverless,
    unit_status,
)
from model_server_charm.config import CharmConfig, ConfigError, ServerConfig
from model_server_charm.credentials import CredentialsError
from model_server_charm.endpoints import EndpointAction
from model_server_charm.families import family_for
from model_server_charm.layer import WORKLOAD_CONTAINER, ServerPlan
from model_server_charm.observability import dashboards, logs, metrics, otlp
from model_server_charm.relations import ingress, s3, storage_credentials
from model_server_charm.relations.storage_credentials import StorageCredentials
from model_server_charm.runtimes import Runtime
from model_server_charm.server_client import ModelServerClient
from model_server_charm.workload import Workload

logger = logging.getLogger(__name__)


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
        # One observer per relation; each names the events it needs.
        self._metrics = metrics.MetricsEndpointProvider(self, self.runtime)
        self._dashboards = dashboards.GrafanaDashboardProvider(self, self.runtime)
        self._logs = logs.LogForwarder(self)
        self._otlp = otlp.OtlpForwarder(self)
        self._ingress = ingress.IngressRequirer(self)
        self._s3 = s3.S3Requirer(self)
        for event in (
            self.on.leader_elected,  # the new leader (re)writes the application databags
            *self._metrics.events,
            *self._dashboards.events,
            *self._logs.events,
            *self._otlp.events,
            *self._ingress.events,
            *self._s3.events,
        ):
            framework.observe(event, self._reconcile)
        framework.observe(self.on.collect_unit_status, self._on_collect_unit_status)
        self._endpoints = EndpointAction(
            self,
            self.family,
            lambda: self._config,
            self._ingress.url,
            lambda: self._deployment.inference_service(),
        )
        self._actions = actions.ActionHandlers(
            self, self.family, lambda: self._config, self._client, self._endpoints.ingress_client
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
    def _credentials(self) -> StorageCredentials | CredentialsError:
        """The server's storage credentials: the secret's, else the s3 relation's (per hook)."""
        config = self._config
        if isinstance(config, ConfigError):
            return StorageCredentials({})
        try:
            secret = storage_credentials.read_secret(
                config.server.storage_credentials, self.app.name
            )
        except CredentialsError as error:
            return error
        serverless_mode = config.server.deployment_mode == "serverless"
        return storage_credentials.choose(secret, self._s3.connection(), serverless_mode)

    @cached_property
    def _local_model_ready(self) -> bool:
        """Whether the model in this pod answers its readiness URL; asked once per hook."""
        return self._model_ready_now()

    def _client(self, config: CharmConfig) -> ModelServerClient:
        """The server in this pod; in serverless mode, the InferenceService's cluster address."""
        if config.server.deployment_mode != "serverless":
            return self.family.local_client(config)
        return ModelServerClient(self._endpoints.served_by_kserve().address)

    @cached_property
    def _deployment(self) -> deployment.Deployment:
        """The application's Kubernetes objects, read at most once per hook and shared."""
        return deployment.Deployment(
            app=self.app.name, namespace=self.model.name, leader=self.unit.is_leader()
        )

    # --- reconcile --------------------------------------------------------------

    def _reconcile(self, _: ops.EventBase) -> None:
        """Make the workload match the configuration; change nothing if it is invalid."""
        config = self._config
        if isinstance(config, ConfigError):
            logger.warning("configuration is invalid, workload left as it is: %s", config)
            return
        # Relation data needs no container: Prometheus, Grafana and the ingress
        # learn of the unit even while its pod is still starting.
        serverless_mode = config.server.deployment_mode == "serverless"
        self._metrics.publish(config)
        self._dashboards.publish()
        self._otlp.publish(
            metrics.published_rules(self.runtime, config, JujuTopology.from_charm(self))
        )
        self._ingress.publish(config.server.http_port, serverless_mode)
        self._s3.publish(str(config.value("model-uri") or ""))
        credentials = self._credentials
        if isinstance(credentials, CredentialsError):
            logger.warning("%s", credentials)
            return
        if serverless_mode:
            self._reconcile_serverless(config)
        else:
            self._reconcile_sidecar(config, credentials.content)

    def _log_layers(self) -> dict[str, ops.pebble.LayerDict]:
        planned = self.server.plan().log_targets
        layers = {
            logs.LAYER_NAME: self._logs.layer(planned),
            otlp.LAYER_NAME: self._otlp.layer(planned, self.server.pebble_version()),
        }
        return {name: layer for name, layer in layers.items() if layer}

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
            managed_files=credentials.MANAGED_FILES,
        )

    def _wanted_plan(self) -> ServerPlan | None:
        """The plan this unit should serve now (None: invalid configuration, serverless mode)."""
        config, secret = self._config, self._credentials
        if isinstance(config, ConfigError) or isinstance(secret, CredentialsError):
            return None
        serverless = config.server.deployment_mode == "serverless"
        return None if serverless else self._server_plan(config, secret.content)

    def _model_ready_now(self) -> bool:  # asked afresh: a rolling restart polls it
        config = self._config
        return not isinstance(config, ConfigError) and self.family.model_ready(config)

    def _reconcile_serverless(self, config: CharmConfig) -> None:
        """KServe serves the model: once its InferenceService does, stop this pod's server."""
        may_stop = self._deployment.reconcile_serverless(
            config,
            self.family.predictor(config),
            lambda: serverless.predictor_image(config.server.image, self.model.resources),
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
        workload_status = None
        if not serverless_mode:
            workload_status = unit_status.workload_status(
                self.server,
                self.family,
                config,
                ready=self._local_model_ready,
                alone=self._rollout.alone(),
            )
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
        notes = self._relation_notes(serverless_mode)
        for status in statuses:
            status = unit_status.with_notes(status, notes)
            if status is not None:
                event.add_status(bounded.status(status))

    def _relation_notes(self, serverless_mode: bool) -> list[str]:
        credentials = self._credentials
        otlp_related = self._otlp.related
        return unit_status.relation_notes(
            ingress_url=self._ingress.url(),
            ingress_inapplicable=self._ingress.related and serverless_mode,
            unused_credentials=credentials.note
            if isinstance(credentials, StorageCredentials)
            else "",
            log_path=otlp.log_path(
                bool(self.model.relations[logs.RELATION_NAME]),
                otlp_related,
                self.server.pebble_version() if otlp_related else None,
            ),
        )

    # --- removal ------------------------------------------------------------------

    def _on_removing(self, _: ops.EventBase) -> None:
        """Delete the InferenceService when the application goes, not when a unit does."""
        if self.unit.is_leader() and self.app.planned_units() == 0:
            self._deployment.remove()
