"""AutoGluon's in-process ceiling (tox -e bench-autogluon): the TabularPredictor's own predict.

One thread per prediction, as the boosters' ceilings (`bench.ceilings.NTHREAD`)
and the charm's servers (`kserve_launcher.joblib_threads`): joblib sequential,
not the thread pool of the `n_jobs` the model was fitted with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
import pandas
from autogluon.tabular import TabularPredictor
from kserve.utils.utils import get_predict_input

from bench.ceilings import in_process_rate


def autogluon_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    """The predictor's rate on the request's rows, as a table with its feature names."""
    predictor = TabularPredictor.load(str(model_dir), verbosity=0)
    columns = pandas.Index(predictor.features())
    table = pandas.DataFrame(get_predict_input(request), columns=columns)

    def predict() -> object:
        return predictor.predict(table)

    with joblib.parallel_config(backend="sequential"):
        return in_process_rate(predict, seconds)
