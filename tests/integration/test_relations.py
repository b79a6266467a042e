"""The relations users plug in first, on a real Juju: ingress, s3-credentials, send-otlp.

Each test deploys the published charm it relates sklearn to (traefik-k8s,
s3-integrator, opentelemetry-collector-k8s, on the channels the overlays and
README name), checks what the unit shows and does, and removes it again: the
bundle's model is the developer's deployment.

- ingress: the Active status carries the URL, `show-endpoint` gives it with the
  model's paths, and `smoke-test via-ingress=true` passes through it;
- s3-credentials: the server's Pebble plan gets the endpoint and keys as the
  variables kserve-storage reads, and a rotated key reaches it without an error;
- send-otlp: the status says which way the unit's logs go, which depends on the
  Pebble the controller's Juju ships (OTLP log targets from Juju 3.6.13).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
import yaml

from model_server_charm.observability.otlp import OTLP_PEBBLE
from tests.integration.cluster import juju_model, run_action, run_command, settle, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle")

SKLEARN = "sklearn"
INGRESS_TIMEOUT_SECONDS = 15 * 60
# Juju ships Pebble v1.26.0, which has OTLP log targets, from 3.6.13 on.
OTLP_JUJU = (3, 6, 13)


async def _deploy_and_relate(
    ops_test: OpsTest, charm: str, app: str, channel: str, trust: bool = False
) -> None:
    model = juju_model(ops_test)
    if app not in model.applications:
        await model.deploy(charm, application_name=app, channel=channel, trust=trust)
    await model.integrate(SKLEARN, app)


async def _remove(ops_test: OpsTest, app: str) -> None:
    await juju_model(ops_test).remove_application(app, block_until_done=True)
    await settle(ops_test, [SKLEARN], "active")


async def _server_environment(ops_test: OpsTest) -> dict[str, str]:
    """The server's environment in the plan its unit's Pebble runs (`pebble plan`, YAML)."""
    unit = units(ops_test, SKLEARN)[0].name
    model = str(ops_test.model_full_name)
    command = ["juju", "ssh", "-m", model, "--container", "server", unit, "/charm/bin/pebble"]
    plan = yaml.safe_load(await run_command([*command, "plan"]))
    return plan["services"]["sklearnserver"].get("environment", {})


async def test_ingress_url_in_the_status_the_action_and_the_smoke_test(ops_test: OpsTest):
    await _deploy_and_relate(ops_test, "traefik-k8s", "traefik", "latest/stable", trust=True)
    await settle(ops_test, [SKLEARN, "traefik"], "active", INGRESS_TIMEOUT_SECONDS)
    unit = units(ops_test, SKLEARN)[0]
    assert "; ingress http" in unit.workload_status_message

    shown = await run_action(ops_test, unit.name, "show-endpoint")
    smoke = await run_action(ops_test, unit.name, "smoke-test", **{"via-ingress": "true"})

    assert shown.results["ingress-url"].startswith("http")
    assert shown.results["ingress-url"] in unit.workload_status_message
    assert shown.results["paths"]["v1"] == "/v1/models/model:predict"
    assert smoke.status == "completed", smoke.message
    await _remove(ops_test, "traefik")


async def test_s3_integrator_credentials_reach_the_server_and_rotate(ops_test: OpsTest):
    await _deploy_and_relate(ops_test, "s3-integrator", "s3-integrator", "1/stable")
    integrator = juju_model(ops_test).applications["s3-integrator"]
    await integrator.set_config({"endpoint": "https://s3.example.com", "bucket": "models"})
    leader = units(ops_test, "s3-integrator")[0].name
    sync = {"access-key": "integration-access", "secret-key": "integration-secret-1"}
    await run_action(ops_test, leader, "sync-s3-credentials", **sync)
    await settle(ops_test, [SKLEARN], "active")
    environment = await _server_environment(ops_test)
    assert environment["AWS_ENDPOINT_URL"] == "https://s3.example.com"
    assert environment["AWS_ACCESS_KEY_ID"] == "integration-access"

    await run_action(ops_test, leader, "sync-s3-credentials", **{**sync, "secret-key": "rotated"})
    await settle(ops_test, [SKLEARN], "active")

    assert (await _server_environment(ops_test))["AWS_SECRET_ACCESS_KEY"] == "rotated"
    await _remove(ops_test, "s3-integrator")


async def test_the_status_says_which_way_the_logs_go(ops_test: OpsTest):
    await _deploy_and_relate(
        ops_test, "opentelemetry-collector-k8s", "otelcol", "2/stable", trust=True
    )
    await settle(ops_test, [SKLEARN], "active")
    version = juju_model(ops_test).info.agent_version
    message = units(ops_test, SKLEARN)[0].workload_status_message
    if (version.major, version.minor, version.patch) >= OTLP_JUJU:
        assert "; logs over OTLP" in message
    else:
        assert f"has no OTLP log target ({OTLP_PEBBLE})" in message
    await _remove(ops_test, "otelcol")
