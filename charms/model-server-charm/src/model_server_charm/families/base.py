"""`ServerFamily`: what differs between families of model servers, behind one interface.

A family owns everything about its servers that is not data: how the command
line and environment are built, which URLs say the model is ready and the
server alive, where the server leaves why it stopped, what the status says,
what the predictor of serverless mode runs, how requests are sent and the
smoke test made, and which models it loads itself. The charm asks its
runtime's family (`families.family_for`) and never branches on a runtime's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import ops

from model_server_charm import layer
from model_server_charm.config import CharmConfig, OptionGroup
from model_server_charm.options import HARDWARE_GROUPS, RUNTIME_GROUPS
from model_server_charm.runtimes import Judge, Protocol, Runtime
from model_server_charm.server_client import ModelServerClient, ServerAnswer
from model_server_charm.serverless import Predictor
from model_server_charm.workload import Workload

# How long a status evaluation waits for the server's readiness answer.
READINESS_TIMEOUT = 5.0

# documented: compare with `expected`; well-formed: an inference answer of the
# protocol's shape; described: the model is ready and answered its metadata.
SmokeKind = Literal["documented", "well-formed", "described"]
# An action of a family's own: (client, config, params) -> results.
ActionHandler = Callable[[ModelServerClient, CharmConfig, Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Smoke:
    """What the smoke test sent, got and must judge."""

    answer: ServerAnswer
    protocol: Protocol
    expected: Any
    judge: Judge
    kind: SmokeKind


class ServerFamily(ABC):
    """One family of servers; where every family answers the same, the answer is here."""

    # The family's own option groups, declared in every charm of the family.
    option_groups: ClassVar[tuple[type[OptionGroup], ...]] = ()
    # Where the server writes why it exited, for the status (None: it does not).
    failure_file: ClassVar[str | None] = None

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    def group_kinds(self) -> tuple[type[OptionGroup], ...]:
        """Every option group of a charm of this runtime, besides the shared options."""
        return (
            *self.option_groups,
            *(RUNTIME_GROUPS[name] for name in self.runtime.options),
            *(HARDWARE_GROUPS[name] for name in self.runtime.hardware),
        )

    def config_from(self, values: Mapping[str, Any]) -> CharmConfig:
        """A validated configuration of this runtime's charm from option values (`model_uri=…`).

        The charm loads its configuration from Juju; the tests and the benchmark
        build the same one from plain values.
        """
        return CharmConfig.from_values(self.runtime, self.group_kinds(), values)

    # --- what runs ---------------------------------------------------------------------

    @abstractmethod
    def command(self, config: CharmConfig) -> list[str]:
        """The server's argv."""

    @abstractmethod
    def environment(self, config: CharmConfig, credentials: dict[str, str]) -> dict[str, str]:
        """The server's environment, storage credentials included."""

    @abstractmethod
    def ready_path(self, config: CharmConfig) -> str:
        """The path that answers 2xx once the server can serve."""

    def live_path(self, config: CharmConfig) -> str:
        """The path that answers 2xx while the server process works."""
        return "/v2/health/live"

    def layer(self, config: CharmConfig, credentials: dict[str, str]) -> ops.pebble.LayerDict:
        """The Pebble layer of the server: its service and its checks."""
        base = f"http://localhost:{config.server.http_port}"
        return layer.server_layer(
            service=self.runtime.service_name,
            summary=f"{self.runtime.display_name} model server",
            command=self.command(config),
            environment=self.environment(config, credentials),
            ready_url=base + self.ready_path(config),
            live_url=base + self.live_path(config),
        )

    @abstractmethod
    def predictor(self, config: CharmConfig) -> Predictor:
        """What the InferenceService's predictor runs (serverless mode)."""

    def converge_models(
        self, workload: Workload, client: ModelServerClient, config: CharmConfig
    ) -> ops.StatusBase | None:
        """Load (and unload) the models the server does not load by itself; a status if not all.

        Called once the server answers. Families whose server loads its one
        model from its command line have nothing to do.
        """
        return None

    # --- requests ----------------------------------------------------------------------

    @abstractmethod
    def infer(
        self,
        client: ModelServerClient,
        config: CharmConfig,
        protocol: Protocol,
        document: Mapping[str, Any],
        model: str,
    ) -> ServerAnswer:
        """Send one inference request (`model`: empty for the configured one).

        Raises server_client.RequestRefusedError when the request must not be sent.
        """

    @abstractmethod
    def smoke(self, client: ModelServerClient, config: CharmConfig) -> Smoke:
        """Send the runtime's example for this configuration (or ask for metadata)."""

    def extra_actions(self) -> Mapping[str, ActionHandler]:
        """The family's own actions, by name (declared in its charms' charmcraft.yaml)."""
        return {}

    # --- what is observed --------------------------------------------------------------

    def local_client(self, config: CharmConfig, timeout: float = 30) -> ModelServerClient:
        """The server in this pod."""
        return ModelServerClient.on_port(config.server.http_port, timeout=timeout)

    def model_ready(self, config: CharmConfig) -> bool:
        """Whether the server in this pod serves what the configuration asks for."""
        client = self.local_client(config, READINESS_TIMEOUT)
        return client.answers(self.ready_path(config))

    def missing_model(self, config: CharmConfig) -> str:
        """Why the server in this pod runs without the configured model (empty: it may load).

        Asked while the model is not ready; a family whose server can run with
        no model says how the operator tells, and what to fix.
        """
        return ""

    @abstractmethod
    def endpoint_paths(self, config: CharmConfig) -> dict[str, str]:
        """The exact request paths of the configured model(s), by protocol (`show-endpoint`)."""

    @abstractmethod
    def served(self, config: CharmConfig) -> str:
        """What is served, in a few words, for statuses."""

    def loading_message(self, config: CharmConfig) -> str:
        """The status while the server starts and loads."""
        return f"loading {self.served(config)}"

    def serving_message(self, config: CharmConfig) -> str:
        """The status once it serves."""
        protocols = ", ".join(self.runtime.protocols)
        return f"{self.served(config)} ready on :{config.server.http_port} ({protocols})"
