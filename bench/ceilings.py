"""The in-process ceilings of the light frameworks (`bench.frameworks` names every framework's).

The ceiling is the framework's own prediction on the rows of the request the
servers get, in a loop in this process: what a server would reach with no
HTTP, no JSON and no framework around the model. The rows are decoded once
with kserve's own decoder, as the servers decode them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import lightgbm
import xgboost
from jpmml_evaluator import make_evaluator
from jpmml_evaluator.py4j import Py4JBackend
from kserve.utils.utils import get_predict_input

from bench.models import boosters, iris, pmml

# pmmlserver's bridge to the JVM: a Py4J gateway.
JAVA_BACKEND = "py4j"
# The servers' own setting: one thread per prediction (the manifests' and the charm's --nthread).
NTHREAD = 1


def in_process_rate(predict: Callable[[], object], seconds: float) -> float:
    """Call `predict` in a loop for `seconds`: predictions per second."""
    calls = 0
    start = now = time.perf_counter()
    deadline = start + seconds
    while now < deadline:
        predict()
        calls += 1
        now = time.perf_counter()
    return calls / (now - start)


def sklearn_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    estimator = joblib.load(model_dir / iris.MODEL_FILE)
    rows = get_predict_input(request)

    def predict() -> object:
        return estimator.predict(rows)

    return in_process_rate(predict, seconds)


def xgboost_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    model_file = model_dir / boosters.XGBOOST_FILE
    booster = xgboost.Booster(params={"nthread": NTHREAD}, model_file=model_file)
    rows = get_predict_input(request)

    def predict() -> object:
        return booster.predict(xgboost.DMatrix(rows, nthread=NTHREAD))

    return in_process_rate(predict, seconds)


def lightgbm_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    model_file = model_dir / boosters.LIGHTGBM_FILE
    booster = lightgbm.Booster(params={"nthread": NTHREAD}, model_file=model_file)
    rows = get_predict_input(request, columns=booster.feature_name())

    def predict() -> object:
        return booster.predict(rows)

    return in_process_rate(predict, seconds)


def pmml_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    """JPMML's evaluation of each row, through the same Py4J gateway to a JVM as the server's."""
    try:
        evaluator = make_evaluator(str(model_dir / pmml.MODEL_FILE), backend=JAVA_BACKEND).verify()
        fields = [field.getName() for field in evaluator.getInputFields()]
        rows = [dict(zip(fields, row, strict=False)) for row in get_predict_input(request)]

        def predict() -> object:
            return [evaluator.evaluate(row) for row in rows]

        return in_process_rate(predict, seconds)
    finally:
        if Py4JBackend.gateway is not None:
            Py4JBackend.destroyGateway()  # stops the JVM this process started
