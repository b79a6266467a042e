"""A restart rolls through a 3-unit application while its Kubernetes Service keeps answering.

sklearn is scaled to three units; a client sends predict requests to the
application's Service (its cluster IP, reachable from the node the tests run
on) while `juju config` changes an option that restarts the server. The
units restart one at a time (the others say "waiting to restart"), each
taken out of the Service before its server stops, and no request fails.
`workers` is the option changed: it restarts the server on the bundle's own
model, which the test must keep serving; a model-uri change takes the same
path (tests/unit/test_rolling.py, tests/workload/test_rolling_restart.py).
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest
from lightkube import Client
from lightkube.resources.core_v1 import Service

from tests.integration import product
from tests.integration.cluster import juju_model, settle, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle")

SKLEARN = "sklearn"
UNITS = 3
BODY = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]}).encode()
REQUEST_TIMEOUT_SECONDS = 10
REQUEST_INTERVAL_SECONDS = 0.05


@dataclass
class Traffic:
    sent: int = 0
    failed: list[str] = field(default_factory=list[str])
    statuses: set[str] = field(default_factory=set[str])


def _predict(url: str) -> str:
    """'' when the Service answered 200, else what went wrong."""
    request = urllib.request.Request(url, BODY, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_SECONDS) as answer:
            return "" if answer.status == 200 else f"HTTP {answer.status}"
    except (urllib.error.URLError, OSError) as error:
        return str(error)


async def _send_until(url: str, stop: asyncio.Event, traffic: Traffic) -> None:
    while not stop.is_set():
        problem = await asyncio.to_thread(_predict, url)
        traffic.sent += 1
        if problem:
            traffic.failed.append(problem)
        await asyncio.sleep(REQUEST_INTERVAL_SECONDS)


async def test_a_restart_rolls_through_three_units_without_a_failed_request(
    ops_test: OpsTest, kube: Client
):
    application = juju_model(ops_test).applications[SKLEARN]
    await application.scale(scale=UNITS)
    await settle(ops_test, [SKLEARN], "active")
    service = kube.get(Service, SKLEARN, namespace=str(ops_test.model_name))
    assert service.spec is not None
    url = f"http://{service.spec.clusterIP}:{product.http_port(SKLEARN)}/v1/models/model:predict"
    workers = int((await application.get_config())["workers"]["value"])
    traffic, stop = Traffic(), asyncio.Event()
    sender = asyncio.create_task(_send_until(url, stop, traffic))

    await application.set_config({"workers": str(1 if workers > 1 else 2)})
    while not any("waiting to restart" in m for m in traffic.statuses) and not sender.done():
        traffic.statuses |= {u.workload_status_message for u in units(ops_test, SKLEARN)}
        await asyncio.sleep(1)
    await settle(ops_test, [SKLEARN], "active")
    stop.set()
    await sender

    await application.set_config({"workers": str(workers)})
    await application.scale(scale=1)
    await settle(ops_test, [SKLEARN], "active")
    print(f"\n{traffic.sent} requests through the Service during the roll-out")
    assert traffic.sent > 0
    assert traffic.failed == [], traffic.failed[:5]
    assert any(m.startswith("waiting to restart: ") for m in traffic.statuses)
