"""The charm's own cost: one `config-changed` reconcile and the import of its module.

The reconcile runs in Scenario (ops.testing), the way the unit tests run the
charm: a leader unit whose workload container answers, configured to serve a
model, so that the hook plans the layer, replans and collects the status (the
server itself is not there: its readiness check is refused at once). Each
figure is the median of several runs; neither is asserted anywhere, they are
printed so that a regression shows.
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Any

from ops import testing

from model_server_charm.layer import WORKLOAD_CONTAINER
from model_server_charm.runtimes import Runtime
from model_server_charm.serverless import STORAGE_MOUNT
from scripts.render_charms import juju_defaults
from tests.charms import BY_NAME, ROOT, ThinCharm

RECONCILES = 20
IMPORTS = 5
IMPORT_TIMEOUT_S = 120
# Run in a fresh interpreter: the seconds `import charm` takes (the thin charm's module).
TIME_IMPORT = (
    "import time; start = time.perf_counter(); import charm; print(time.perf_counter() - start)"
)
SHARED_SOURCE = ROOT / "charms" / "model-server-charm" / "src"


@dataclass(frozen=True)
class CharmCost:
    """Medians, in seconds."""

    reconcile_s: float
    import_s: float

    def __str__(self) -> str:
        return (
            f"charm: one config-changed reconcile (Scenario) {self.reconcile_s * 1000:.1f} ms"
            f" (median of {RECONCILES}), import charm {self.import_s * 1000:.0f} ms"
            f" (median of {IMPORTS} fresh interpreters)"
        )


def thin_charm(runtime: Runtime) -> ThinCharm:
    """The runtime's charm directory and class."""
    return BY_NAME[f"{runtime.name}-server"]


def configured(runtime: Runtime) -> dict[str, Any]:
    """Option values that make the charm serve: a model-uri where the charm has that option."""
    return {"model-uri": STORAGE_MOUNT} if "model_uri" in juju_defaults(runtime) else {}


def reconcile_seconds(runtime: Runtime) -> float:
    """The median time of one config-changed hook, in Scenario."""
    context: testing.Context[Any] = testing.Context(thin_charm(runtime).charm_type)
    state = testing.State(
        leader=True,
        config=configured(runtime),
        containers={testing.Container(WORKLOAD_CONTAINER, can_connect=True)},
    )
    times: list[float] = []
    # The charm logs each hook; a framework the bench imported may have sent logs to stderr.
    logging.disable(logging.CRITICAL)
    try:
        for _ in range(RECONCILES):
            start = time.perf_counter()
            context.run(context.on.config_changed(), state)
            times.append(time.perf_counter() - start)
    finally:
        logging.disable(logging.NOTSET)
    return statistics.median(times)


def import_seconds(runtime: Runtime) -> float:
    """The median time a fresh interpreter takes to import the charm's module."""
    paths = [str(thin_charm(runtime).path / "src"), str(SHARED_SOURCE)]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}
    times = [
        float(
            subprocess.run(
                [sys.executable, "-c", TIME_IMPORT],
                env=environment,
                capture_output=True,
                text=True,
                timeout=IMPORT_TIMEOUT_S,
                check=True,
            ).stdout
        )
        for _ in range(IMPORTS)
    ]
    return statistics.median(times)


def charm_cost(runtime: Runtime) -> CharmCost:
    """Both figures for the runtime's charm."""
    return CharmCost(reconcile_seconds(runtime), import_seconds(runtime))
