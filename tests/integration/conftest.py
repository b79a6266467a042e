"""What the pytest-operator tests deploy, and whether there is anywhere to deploy it.

The charm under test is, in order of preference: the file named by
`KSERVE_CHARM_<CHARM>` (e.g. KSERVE_CHARM_SKLEARN_SERVER), the newest pack of it
in build/ (`tox -e pack`), or a fresh `charmcraft pack` through pytest-operator.
Its server-image resource is `KSERVE_IMAGE_<ROCK>` (e.g.
KSERVE_IMAGE_SKLEARNSERVER=localhost:32000/sklearnserver:0.20.0-…) or the
image scripts/deploy.sh last pushed for that rock (build/images.json): a Juju
oci-image resource is a registry reference, so a .rock file alone is not enough.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    # Only annotations: this module also loads where pytest-operator is not installed.
    from pytest_operator.plugin import OpsTest

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
# Long enough for a controller on another continent, short enough not to hang CI.
CONTROLLER_TIMEOUT_SECONDS = 60


def _env_name(prefix: str, name: str) -> str:
    return f"{prefix}_{name.upper().replace('-', '_')}"


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
    return None


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


async def charm_to_deploy(ops_test: OpsTest, charm: str) -> Path:
    """The packed charm: named by the environment, from build/, or packed now."""
    named = os.environ.get(_env_name("KSERVE_CHARM", charm))
    if named:
        return Path(named).resolve()
    packed = sorted(BUILD.glob(f"{charm}_*.charm"), key=lambda path: path.stat().st_mtime)
    if packed:
        return packed[-1]
    # The charm's part sources the repository root (charmcraft monorepo mode).
    os.environ["CHARMCRAFT_EXPERIMENTAL_MONOREPO"] = "1"
    built = await ops_test.build_charm(ROOT / "charms" / charm)
    assert isinstance(built, Path)
    return built


def image_for(rock: str) -> str:
    """The registry reference of the rock's image, or fail saying how to provide one."""
    variable = _env_name("KSERVE_IMAGE", rock)
    named = os.environ.get(variable)
    if named:
        return named
    images_file = BUILD / "images.json"
    if images_file.is_file():
        images: dict[str, str] = json.loads(images_file.read_text())
        if rock in images:
            return images[rock]
    pytest.fail(
        f"no image for the {rock} rock: set {variable} to an image the cluster can pull,"
        " or run scripts/deploy.sh (tox -e deploy), which pushes it and records it in"
        f" {images_file.relative_to(ROOT)}"
    )
