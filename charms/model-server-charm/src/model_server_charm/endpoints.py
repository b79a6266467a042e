"""The `show-endpoint` action: where the configured model answers, inside and outside the cluster.

Sidecar mode: the cluster-internal URL is the application's Service, which Juju
names after the application and on which the charm opens the HTTP port
(`http://<app>.<model>.svc.cluster.local:<http-port>`, load-balanced over the
units); the ingress URL is the one the related ingress provider gives
(`relations.ingress`), load-balanced over the same units from outside. The
request paths are the family's (`ServerFamily.endpoint_paths`): append one to
either URL.

Serverless mode: the InferenceService's URL and its cluster-local address,
which KServe reports; the ingress relation does not apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ops

from model_server_charm.actions import ActionFailedError, run_action
from model_server_charm.config import CharmConfig, ConfigError
from model_server_charm.families.base import ServerFamily
from model_server_charm.kubernetes_problems import KubernetesProblemError
from model_server_charm.relations.ingress import SERVERLESS_NOTE
from model_server_charm.server_client import ModelServerClient
from model_server_charm.serverless import InferenceServiceState

NO_INGRESS = "none: relate an ingress provider (juju integrate {app} traefik-k8s)"


def cluster_url(app: str, model: str, port: int) -> str:
    """The application's Service inside the cluster."""
    return f"http://{app}.{model}.svc.cluster.local:{port}"


class EndpointAction(ops.Object):
    """Answers `show-endpoint`, and gives smoke-test its client through the ingress URL."""

    def __init__(
        self,
        charm: ops.CharmBase,
        family: ServerFamily,
        config: Callable[[], CharmConfig | ConfigError],
        ingress_url: Callable[[], str | None],
        inference_service: Callable[[], InferenceServiceState | None],
    ):
        super().__init__(charm, "endpoints")
        self._family = family
        self._config = config
        self._ingress_url = ingress_url
        self._inference_service = inference_service
        charm.framework.observe(charm.on.show_endpoint_action, self._on_show_endpoint)

    def _on_show_endpoint(self, event: ops.ActionEvent) -> None:
        run_action(event, self._config, self.results)

    def results(self, config: CharmConfig) -> dict[str, Any]:
        """The URLs and paths of the configured model, in this deployment mode."""
        paths = self._family.endpoint_paths(config)
        app, model = self.model.app.name, self.model.name
        if config.server.deployment_mode == "serverless":
            state = self.served_by_kserve()
            return {
                "inference-service-url": state.url,
                "cluster-url": state.address,
                "ingress-url": SERVERLESS_NOTE,
                "paths": paths,
            }
        return {
            "cluster-url": cluster_url(app, model, config.server.http_port),
            "ingress-url": self._ingress_url() or NO_INGRESS.format(app=app),
            "paths": paths,
        }

    def served_by_kserve(self) -> InferenceServiceState:
        """The InferenceService serving the model; ActionFailedError while it has no address."""
        try:
            state = self._inference_service()
        except KubernetesProblemError as error:
            raise ActionFailedError(error.status.message) from error
        if state is None or not state.address:
            raise ActionFailedError(
                "the InferenceService has no address yet: wait for it to be ready (juju status)"
            )
        return state

    def ingress_client(self, config: CharmConfig) -> ModelServerClient:
        """The server through the ingress URL; ActionFailedError when there is none."""
        if config.server.deployment_mode == "serverless":
            raise ActionFailedError(SERVERLESS_NOTE)
        url = self._ingress_url()
        if url is None:
            raise ActionFailedError(
                "no ingress URL to go through: " + NO_INGRESS.format(app=self.model.app.name)
            )
        return ModelServerClient(url)
