"""`ServerFamily`: what differs between families of model servers, behind one interface.

A family owns everything about its servers that is not data: how the command
line and environment are built, which URLs say the model is ready and the
server alive, where the server leaves why it stopped, what the status says,
and what the predictor of serverless mode runs. The charm asks its runtime's
family (`families.family_for`) and never branches on a runtime's name.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import ops

from model_server_charm import layer
from model_server_charm.config import CharmConfig
from model_server_charm.options import HARDWARE_GROUPS, RUNTIME_GROUPS, OptionGroup
from model_server_charm.runtimes import Example, Protocol, Runtime
from model_server_charm.server_client import ModelServerClient
from model_server_charm.serverless import Predictor

# How long a status evaluation waits for the server's readiness answer.
READINESS_TIMEOUT = 5.0


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
        """The path that answers 2xx once the served model(s) can be used."""

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
    def request(
        self, config: CharmConfig, protocol: Protocol, document: Mapping[str, Any]
    ) -> tuple[str, bytes]:
        """Where an inference request of this protocol goes, and the body it carries."""

    @abstractmethod
    def serves(self, config: CharmConfig, example: Example) -> bool:
        """Whether the served model is the example's (so its documented answer applies)."""

    @abstractmethod
    def metadata_path(self, config: CharmConfig) -> str:
        """The path that describes the served model (the smoke test without an example)."""

    @abstractmethod
    def predictor(self, config: CharmConfig) -> Predictor:
        """What the InferenceService's predictor runs (serverless mode)."""

    # --- what is observed --------------------------------------------------------------

    def local_client(self, config: CharmConfig, timeout: float = 30) -> ModelServerClient:
        """The server in this pod."""
        return ModelServerClient.on_port(config.server.http_port, timeout=timeout)

    def model_ready(self, config: CharmConfig) -> bool:
        """Whether the server in this pod serves what the configuration asks for."""
        client = self.local_client(config, READINESS_TIMEOUT)
        return client.answers(self.ready_path(config))

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
