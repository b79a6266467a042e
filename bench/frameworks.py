"""Each framework the bench serves: how its model is built, its in-process ceiling, its tox env.

Builders and ceilings are named as `module:function` and imported only when
used, so that a run imports only its own framework: the light ones
(scikit-learn, XGBoost, LightGBM, JPMML) are in `tox -e bench`, each heavy one
(PaddlePaddle, AutoGluon) in a tox environment of its own (`bench-paddle`,
`bench-autogluon`), as in the workload tests.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CEILINGS = "bench.ceilings"


@dataclass(frozen=True)
class Framework:
    """How the bench gets a model of one framework, and that model's ceiling."""

    build: str  # "module:function" writing the model into a directory
    ceiling: str  # "module:function" (model_dir, request, seconds) -> predictions per second
    package: str  # what must be importable
    tox_env: str = "bench"
    # For a runtime KServe publishes no example request for: the runtime whose upstream
    # example request this model answers too (the same iris rows).
    request_of: str = ""

    @property
    def installed(self) -> bool:
        """Whether this environment has the framework."""
        return importlib.util.find_spec(self.package) is not None

    def build_model(self, model_dir: Path) -> None:
        """Write the model into `model_dir`."""
        builder: Callable[[Path], None] = _named(self.build)
        builder(model_dir)

    def ceiling_rate(self, model_dir: Path, request: dict[str, Any], seconds: float) -> float:
        """The framework's own prediction of the request's rows, per second, in this process."""
        ceiling: Callable[[Path, dict[str, Any], float], float] = _named(self.ceiling)
        return ceiling(model_dir, request, seconds)


def _named(spec: str) -> Any:
    module, function = spec.split(":")
    return getattr(importlib.import_module(module), function)


# By model format, as ClusterServingRuntimes name them (supportedModelFormats).
FRAMEWORKS = {
    "sklearn": Framework(
        "bench.models.iris:build_sklearn", f"{CEILINGS}:sklearn_ceiling", "sklearn"
    ),
    "xgboost": Framework(
        "bench.models.boosters:build_xgboost", f"{CEILINGS}:xgboost_ceiling", "xgboost"
    ),
    "lightgbm": Framework(
        "bench.models.boosters:build_lightgbm", f"{CEILINGS}:lightgbm_ceiling", "lightgbm"
    ),
    "pmml": Framework(
        "bench.models.pmml:build_pmml", f"{CEILINGS}:pmml_ceiling", "jpmml_evaluator"
    ),
    "paddle": Framework(
        "tests.workload.models.paddle_iris:build_paddle",
        "bench.paddle_ceiling:paddle_ceiling",
        "paddle",
        tox_env="bench-paddle",
        request_of="sklearn",
    ),
    "autogluon": Framework(
        "tests.workload.models.autogluon_iris:build_autogluon",
        "bench.autogluon_ceiling:autogluon_ceiling",
        "autogluon.tabular",
        tox_env="bench-autogluon",
        request_of="sklearn",
    ),
}
