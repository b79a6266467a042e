"""AutoGluon's in-process ceiling (tox -e bench-autogluon): the TabularPredictor's own predict."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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

    return in_process_rate(predict, seconds)
