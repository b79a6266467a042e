"""Start a real model server exactly as the charm would have Pebble start it.

The command, environment and check URLs come from the plan the charm writes
when Scenario runs it (`tests.charm_plan`) — nothing is retyped here. Only what differs between the
rock and this machine is mapped: the interpreter, the files the rock installs
under /etc/kserve, and per-server scratch paths (`bench.servers` holds that
mapping, shared with the benchmark). `running_server` starts the command
directly; `charm_on_pebble` adds the charm's layers, mapped by `host_layer`,
to the real Pebble daemon (`tests.workload.pebble_daemon`).
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
import urllib.request
from collections.abc import Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ops
from ops import pebble, testing

from bench.servers import (
    Command,
    Endpoint,
    ServedModel,
    free_port,
    rock_paths_on_host,
    running,
    to_host,
)
from model_server_charm.layer import WORKLOAD_CONTAINER
from tests.charm_plan import CharmPlan, charm_plan
from tests.charms import ThinCharm
from tests.workload.pebble_daemon import PebbleDaemon, running_pebble
from tests.workload.server_runtime import ServerRuntime

READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class RunningCharmServer:
    """A server started from the charm's plan, with its model ready."""

    plan: CharmPlan
    client: ServedModel
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


def processes_started_with(value: str) -> dict[int, str]:
    """Every process whose environment holds `value` (e.g. its scratch path): pid -> name.

    A server's whole tree inherits its environment, so this finds what is left
    of a server after it ended, whatever re-parented it.
    """
    found: dict[int, str] = {}
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if value.encode() in environ.read_bytes():
                found[int(environ.parent.name)] = (environ.parent / "comm").read_text().strip()
        except OSError:
            continue  # ended while we looked, or not ours to read
    return found


def charm_options(model_dir: Path, **options: Any) -> dict[str, Any]:
    """Juju options serving `model_dir` on free loopback ports, plus `options`."""
    return {
        "model-uri": str(model_dir),
        "http-port": free_port(),
        "grpc-port": free_port(),
        **options,
    }


def host_layer(
    layer: pebble.Layer,
    scratch: Path,
    keep_user: bool,
    more_paths: Mapping[str, str] | None = None,
) -> pebble.LayerDict:
    """A layer of the charm's (or a rock's) with each rock path in its services mapped here.

    Rock paths in commands and environment values become their `scratch` or
    repository places (`rock_paths_on_host`), and those of `more_paths`;
    `python3` stays, found on the daemon's PATH. Without `keep_user` the
    services run as the daemon's own user: where Pebble cannot switch to the
    layer's (not root, no such user).
    """
    paths = {**rock_paths_on_host(scratch), **(more_paths or {})}
    mapped = layer.to_dict()
    for service in mapped.get("services", {}).values():
        words = shlex.split(service.get("command", ""))
        host_words = [to_host(word, paths) for word in words]
        if host_words != words:  # else verbatim: Pebble reads `[ defaults ]` in commands
            service["command"] = shlex.join(host_words)
        environment = service.get("environment", {})
        service["environment"] = {
            name: to_host(value, paths) for name, value in environment.items()
        }
        if not keep_user:
            for key in ("user", "user-id", "group", "group-id"):
                service.pop(key, None)
    return mapped


@dataclass(frozen=True)
class CharmOnPebble:
    """The charm's layers, added to a real Pebble daemon that runs them."""

    charm: ThinCharm
    plan: CharmPlan
    daemon: PebbleDaemon
    scratch: Path
    client: ServedModel

    @property
    def service_name(self) -> str:
        """The server's service in the charm's layer."""
        return self.plan.service.name

    def start_count(self) -> int:
        """How many times Pebble has started the server."""
        return self.daemon.metrics().get(("pebble_service_start_count", self.service_name), 0)

    def service_state(self) -> str:
        """The server's service state as Pebble reports it (active, backoff, ...)."""
        (service,) = self.daemon.client.get_services([self.service_name])
        return str(service.current)

    def unit_status(self) -> ops.StatusBase:
        """The status update-status sets, with the container's /tmp where the launcher writes."""
        ctx = testing.Context(self.charm.charm_type)
        container = self.plan.state.get_container(WORKLOAD_CONTAINER)
        tmp = testing.Mount(location="/tmp", source=self.scratch)
        container = dataclasses.replace(container, mounts={"tmp": tmp})
        state = dataclasses.replace(self.plan.state, containers={container})
        status = ctx.run(ctx.on.update_status(), state).unit_status
        return ops.StatusBase.from_name(status.name, status.message)

    def wait_ready(self, timeout_s: float = READY_TIMEOUT_S) -> None:
        """Wait (bounded) until the served model answers ready."""
        self.daemon.wait_until(self.client.model_ready, timeout_s, "the model ready")


@contextmanager
def charm_on_pebble(
    pebble_binary: Path,
    runtime: ServerRuntime,
    charm: ThinCharm,
    options: Mapping[str, Any],
    pebble_dir: Path,
    relations: tuple[testing.RelationBase, ...] = (),
) -> Generator[CharmOnPebble]:
    """Run the layers the charm adds for `options` (model, ports included) on a real Pebble.

    The layers are added as the charm adds them (`add_layer(..., combine=True)`,
    then a replan), mapped to this machine by `host_layer`.
    """
    plan = charm_plan(charm, options, relations)
    scratch = runtime.directory(f"{charm.name}-scratch")
    keep_user = runtime.user is not None
    with running_pebble(pebble_binary, pebble_dir, runtime.environment()) as daemon:
        for label, layer in plan.layers.items():
            daemon.client.add_layer(label, host_layer(layer, scratch, keep_user), combine=True)
        _replan(daemon)
        model_name = str(options.get("model-name", "model"))
        client = ServedModel.at(int(options["http-port"]), model_name, timeout=2)
        yield CharmOnPebble(charm=charm, plan=plan, daemon=daemon, scratch=scratch, client=client)


def _replan(daemon: PebbleDaemon) -> None:
    """Replan as the charm does; a server that fails within Pebble's first second is no error.

    Pebble then fails the replan's change ("exited quickly") and goes on restarting the
    service with backoff, as in a unit, where the charm reports it: the tests of a failing
    server look at that, and a test that waits for a ready model fails with Pebble's log.
    Whether a failing server exits within that second depends on how fast it imports.
    """
    try:
        daemon.client.replan_services()
    except pebble.ChangeError as error:
        if "exited quickly" not in error.err:
            raise


def charm_command(
    charm: ThinCharm,
    options: Mapping[str, Any],
    scratch: Path,
    prefix: tuple[str, ...] = (),
    environment: Mapping[str, str] | None = None,
    relations: tuple[testing.RelationBase, ...] = (),
) -> tuple[CharmPlan, Command]:
    """The charm's plan for `options` (and `relations`), and its command as it runs here.

    `prefix` goes before the command (`taskset -c 1`), `environment` after the plan's.
    """
    plan = charm_plan(charm, options, relations)
    paths = rock_paths_on_host(scratch)
    interpreter, *arguments = plan.argv
    assert interpreter == "python3", f"the charm's command starts with {interpreter!r}"
    command = Command(
        label=f"{charm.name} (charm's plan)",
        argv=(*prefix, sys.executable, *(to_host(argument, paths) for argument in arguments)),
        environment={
            **{name: to_host(str(value), paths) for name, value in plan.environment.items()},
            **(environment or {}),
        },
    )
    return plan, command


@contextmanager
def running_server(
    charm: ThinCharm,
    options: Mapping[str, Any],
    model_dir: Path,
    scratch: Path,
    ready_timeout_s: float = READY_TIMEOUT_S,
    relations: tuple[testing.RelationBase, ...] = (),
    prefix: tuple[str, ...] = (),
    environment: Mapping[str, str] | None = None,
) -> Generator[RunningCharmServer]:
    """Start the server the charm plans for `options` (plus free ports and `model_dir`).

    `relations` are the charm's relations when it writes the plan (s3-credentials);
    `prefix` and `environment` as `charm_command` takes them.
    """
    config = charm_options(model_dir, **options)
    port, grpc_port = int(config["http-port"]), int(config["grpc-port"])
    plan, command = charm_command(charm, config, scratch, prefix, environment, relations)
    endpoint = Endpoint(
        model_name=str(config.get("model-name", "model")),
        model_dir=model_dir,
        http_port=port,
        grpc_port=grpc_port,
    )
    scratch.mkdir(parents=True, exist_ok=True)
    with running(command, endpoint, scratch / "server.log", ready_timeout_s) as server:
        yield RunningCharmServer(
            plan=plan,
            client=server.client,
            pid=server.pid,
            port=port,
            scratch=scratch,
        )
