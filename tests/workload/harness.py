"""Start a real model server exactly as the charm would have Pebble start it.

The command, environment and check URLs come from the plan the charm writes
when Scenario runs it (`tests.charm_plan`) — nothing is retyped here. Only what differs between the
rock and this machine is mapped: the interpreter, the files the rock installs
under /etc/kserve, and per-server scratch paths (`bench.servers` holds that
mapping, shared with the benchmark).
"""

from __future__ import annotations

import sys
import urllib.request
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.servers import (
    Command,
    Endpoint,
    free_port,
    rock_paths_on_host,
    running,
    to_host,
)
from model_server_charm.workload import ModelServerClient
from tests.charm_plan import CharmPlan, charm_plan
from tests.charms import ThinCharm

READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RunningCharmServer:
    """A server started from the charm's plan, with its model ready."""

    plan: CharmPlan
    client: ModelServerClient
    pid: int
    port: int
    scratch: Path

    @property
    def base_url(self) -> str:
        """Loopback only."""
        return f"http://127.0.0.1:{self.port}"

    def check_url(self, name: str) -> str:
        """A Pebble check's URL from the plan, pointed at loopback."""
        url: str = self.plan.checks[name].http["url"]  # type: ignore[index]
        return url.replace("//localhost:", "//127.0.0.1:")

    def check_passes(self, name: str) -> bool:
        """Whether the Pebble check's HTTP probe would succeed now (a 2xx answer)."""
        try:
            with urllib.request.urlopen(self.check_url(name), timeout=5) as answer:
                return 200 <= answer.status < 300
        except OSError:
            return False


@contextmanager
def running_server(
    charm: ThinCharm,
    options: Mapping[str, Any],
    model_dir: Path,
    scratch: Path,
) -> Generator[RunningCharmServer]:
    """Start the server the charm plans for `options` (plus free ports and `model_dir`)."""
    port, grpc_port = free_port(), free_port()
    config = {
        "model-uri": str(model_dir),
        "http-port": port,
        "grpc-port": grpc_port,
        **options,
    }
    plan = charm_plan(charm, config)
    paths = rock_paths_on_host(scratch)
    interpreter, *arguments = plan.argv
    assert interpreter == "python3", f"the charm's command starts with {interpreter!r}"
    command = Command(
        label=f"{charm.name} (charm's plan)",
        argv=(sys.executable, *(to_host(argument, paths) for argument in arguments)),
        environment={
            name: to_host(str(value), paths) for name, value in plan.service.environment.items()
        },
    )
    endpoint = Endpoint(
        model_name=str(config.get("model-name", "model")),
        model_dir=model_dir,
        http_port=port,
        grpc_port=grpc_port,
    )
    scratch.mkdir(parents=True, exist_ok=True)
    with running(command, endpoint, scratch / "server.log", READY_TIMEOUT_S) as server:
        yield RunningCharmServer(
            plan=plan,
            client=server.client,
            pid=server.pid,
            port=port,
            scratch=scratch,
        )
