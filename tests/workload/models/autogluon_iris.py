"""An AutoGluon TabularPredictor on the iris data, small and quick to fit."""

from __future__ import annotations

from pathlib import Path

import pandas
from autogluon.tabular import TabularPredictor
from sklearn.datasets import load_iris

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
LABEL = "species"
SPECIES = ["setosa", "versicolor", "virginica"]
# Bounds the fit on a busy machine; a 20-tree random forest on iris takes about a second.
FIT_TIME_LIMIT_S = 120


def build_autogluon(model_dir: Path) -> None:
    """A predictor directory with one random forest, labels the species' names."""
    features, labels = load_iris(return_X_y=True)
    table = pandas.DataFrame(features, columns=pandas.Index(FEATURES))
    table[LABEL] = [SPECIES[label] for label in labels]
    predictor = TabularPredictor(label=LABEL, path=str(model_dir), verbosity=0)
    predictor.fit(
        table,
        hyperparameters={"RF": {"n_estimators": 20}},
        fit_weighted_ensemble=False,
        time_limit=FIT_TIME_LIMIT_S,
    )
