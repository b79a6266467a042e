"""The deployed product the integration tests run against, and whether there is one.

Every module runs against one Juju model holding bundle.yaml deployed from
this checkout: the model `tox -e deploy` (scripts/deploy.sh) deploys into,
$KSERVE_MODEL or `kserve` (pytest-operator's `--model` names another). When
the bundle's applications are not all in it, the `bundle` fixture runs
scripts/deploy.sh itself with `--no-pack` (the charms and rocks `tox -e pack`
left in build/), so there is one way to deploy. The model is kept afterwards:
it is the developer's deployment, and every test sets back what it changes.

Every test skips, with the reason, without a reachable Juju controller (and the
charmcraft that pytest-operator requires) or, where it reads the cluster, a
kubeconfig for it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio
from lightkube import Client, ConfigError

from tests.integration import product
from tests.integration.cluster import juju_model, run_command, settle

if TYPE_CHECKING:
    # Only annotations: this module also loads where pytest-operator is not installed.
    from pytest_operator.plugin import OpsTest

DEPLOY_SCRIPT = product.ROOT / "scripts" / "deploy.sh"
# scripts/deploy.sh's default model.
DEFAULT_MODEL = "kserve"
# Long enough for a controller on another continent, short enough not to hang CI.
CONTROLLER_TIMEOUT_SECONDS = 60
# deploy.sh pushes every rock (gigabytes for the heavy frameworks) before deploying.
DEPLOY_TIMEOUT_SECONDS = 60 * 60
# A fresh deployment pulls every image and downloads every example model.
FIRST_SETTLE_TIMEOUT_SECONDS = 60 * 60


def juju_controller_problem() -> str | None:
    """Why these tests cannot run here, or None when a Juju controller answers."""
    juju = shutil.which("juju")
    if juju is None:
        return (
            "juju is not on PATH; the integration tests need a Juju controller on Kubernetes"
            " (scripts/deploy.sh sets one up with concierge)"
        )
    try:
        result = subprocess.run(
            [juju, "show-controller"],
            capture_output=True,
            text=True,
            timeout=CONTROLLER_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"juju show-controller did not answer in {CONTROLLER_TIMEOUT_SECONDS}s"
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()
        return "no Juju controller is reachable" + (f" ({detail[-1]})" if detail else "")
    if shutil.which("charmcraft") is None:
        return (
            "charmcraft is not on PATH, and pytest-operator's ops_test requires it"
            " (sudo snap install charmcraft --classic)"
        )
    return None


def pytest_configure(config: pytest.Config) -> None:
    """One model for every module: scripts/deploy.sh's, unless --model names another.

    Without it pytest-operator would make a model per module, and each would
    deploy the whole bundle again.
    """
    if getattr(config.option, "model", None) is None:
        config.option.model = os.environ.get("KSERVE_MODEL", DEFAULT_MODEL)


@pytest.fixture(scope="session", autouse=True)
def juju_controller() -> None:
    """Skip every integration test, with the reason, when there is no controller.

    A fixture rather than a collection-time skip: the tests are still collected
    and reported as skipped, so pytest exits 0 instead of 5 (no tests) and
    `tox -e integration` passes where it cannot run. Being session-scoped and
    autouse, it runs before pytest-operator's `ops_test`, which would otherwise
    fail on the missing `juju` binary.
    """
    problem = juju_controller_problem()
    if problem is not None:
        pytest.skip(problem)


# pytest-asyncio 0.21 (pytest-operator's) has no type annotations.
@pytest_asyncio.fixture(scope="module")  # pyright: ignore[reportUntypedFunctionDecorator]
async def bundle(ops_test: OpsTest) -> None:
    """bundle.yaml deployed from this checkout, every application settled as designed."""
    model = juju_model(ops_test)
    if not set(product.APPLICATIONS) <= set(model.applications):
        await run_command(
            [
                "bash",
                str(DEPLOY_SCRIPT),
                "--model",
                str(ops_test.model_full_name),
                "--no-pack",
                "--no-wait",
            ],
            DEPLOY_TIMEOUT_SECONDS,
        )
    active = [*product.SERVING, product.PROMETHEUS, product.GRAFANA]
    await settle(ops_test, active, "active", FIRST_SETTLE_TIMEOUT_SECONDS)
    await settle(ops_test, product.BLOCKED_BY_DESIGN, "blocked")


@pytest.fixture(scope="module")
def kube() -> Client:
    """A client for the cluster the controller runs on (KUBECONFIG or ~/.kube/config)."""
    try:
        return Client()
    except ConfigError as error:
        pytest.skip(f"no kubeconfig for the cluster behind the Juju controller: {error}")
