"""What the integration tests do to the deployed product, every wait bounded.

Run actions (with the failure message Juju keeps for a failed one), wait for
statuses, run commands, read unit addresses and the HTTP APIs behind them.

Prometheus, Grafana and the model servers are reached at their units' pod
addresses (`juju status`): the tests run on a node of the cluster, as in the
integration workflow (MicroK8s on the runner), where pod addresses are routed.
That needs no ingress, port-forward or extra client, and asks each server
itself rather than a proxy in front of it.
"""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import pytest
from juju import tag
from juju.client import client

if TYPE_CHECKING:
    from juju.model import Model
    from juju.unit import Unit
    from pytest_operator.plugin import OpsTest

T = TypeVar("T")
# A model server answers an action in seconds; this also covers a model that loads slowly.
ACTION_TIMEOUT_SECONDS = 5 * 60
# Long enough for a pod to restart and download its model again.
SETTLE_TIMEOUT_SECONDS = 20 * 60
COMMAND_TIMEOUT_SECONDS = 2 * 60
HTTP_TIMEOUT_SECONDS = 10
POLL_SECONDS = 2.0
OUTPUT_TAIL_LINES = 60


def juju_model(ops_test: OpsTest) -> Model:
    """The model under test (pytest-operator's, always set once `ops_test` is)."""
    if ops_test.model is None:
        pytest.fail("pytest-operator has no model")
    return ops_test.model


def units(ops_test: OpsTest, app: str) -> list[Unit]:
    """The application's units, by name; fail if it has none (nothing to check is no pass)."""
    found = sorted(juju_model(ops_test).applications[app].units, key=lambda unit: unit.name)
    if not found:
        pytest.fail(f"{app} has no units")
    return found


@dataclass(frozen=True)
class ActionOutcome:
    """A finished action: `completed` or `failed`, its results, and its failure message."""

    status: str
    results: dict[str, Any]
    message: str


async def run_action(
    ops_test: OpsTest, unit: str, action_name: str, /, **params: str
) -> ActionOutcome:
    """Run an action on a unit and wait (bounded) until it has finished."""
    model = juju_model(ops_test)
    action = await model.units[unit].run_action(action_name, **params)
    # Juju's Action facade, not libjuju's Action: only the facade keeps the message of a failure.
    facade = client.ActionFacade.from_connection(model.connection())
    entities = [client.Entity(tag=tag.action(action.id))]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ACTION_TIMEOUT_SECONDS
    while loop.time() < deadline:
        result = (await facade.Actions(entities=entities)).results[0]
        if result.status in ("completed", "failed"):
            return ActionOutcome(result.status, dict(result.output or {}), result.message or "")
        await asyncio.sleep(POLL_SECONDS)
    pytest.fail(f"{action_name} on {unit} did not finish in {ACTION_TIMEOUT_SECONDS}s")


async def settle(
    ops_test: OpsTest,
    apps: Iterable[str],
    status: str,
    timeout: float = SETTLE_TIMEOUT_SECONDS,
) -> None:
    """Wait until the applications are idle with that workload status (a unit in error fails)."""
    await juju_model(ops_test).wait_for_idle(apps=list(apps), status=status, timeout=timeout)


async def unit_address(ops_test: OpsTest, unit: str) -> str:
    """The unit's pod address, as `juju status` shows it."""
    status = await juju_model(ops_test).get_status()
    application = status.applications.get(unit.split("/")[0])
    unit_status = application.units.get(unit) if application is not None else None
    if unit_status is None or not unit_status.address:
        pytest.fail(f"juju status gives no address for {unit}")
    return str(unit_status.address)


async def poll(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout: float,
    interval: float = POLL_SECONDS,
) -> T:
    """Probe until `done` says so or the time is up: the last value, for the test to judge."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value = await probe()
    while not done(value) and loop.time() < deadline:
        await asyncio.sleep(interval)
        value = await probe()
    return value


async def run_command(command: Sequence[str], timeout: float = COMMAND_TIMEOUT_SECONDS) -> str:
    """Run a command to its end (killed after `timeout`); its output, or fail showing its end."""
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout)
    except asyncio.TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{' '.join(command)} did not finish in {timeout}s")
    text = output.decode(errors="replace")
    if process.returncode != 0:
        tail = "\n".join(text.splitlines()[-OUTPUT_TAIL_LINES:])
        pytest.fail(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return text


def _get(url: str, auth: tuple[str, str] | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)
    if auth is not None:
        token = base64.b64encode(":".join(auth).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


async def http_status(url: str) -> int:
    """The HTTP status a GET of `url` answers, 0 when nothing answers."""
    status, _ = await asyncio.to_thread(_get, url, None)
    return status


async def get_json(url: str, auth: tuple[str, str] | None = None) -> Any:
    """The JSON a GET of `url` answers; fail saying what answered otherwise."""
    status, body = await asyncio.to_thread(_get, url, auth)
    if status != 200:
        shown = body[:500].decode(errors="replace")
        pytest.fail(
            f"GET {url} answered {status or 'nothing'} {shown}".strip()
            + (" (the tests must run where pod addresses are routed)" if not status else "")
        )
    return json.loads(body)
