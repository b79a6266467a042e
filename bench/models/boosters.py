"""Iris boosters: XGBoost and LightGBM, trained as upstream's tests train them."""

from __future__ import annotations

from pathlib import Path

import lightgbm
import xgboost
from sklearn.datasets import load_iris

XGBOOST_FILE = "model.json"
LIGHTGBM_FILE = "model.bst"


def build_xgboost(model_dir: Path) -> None:
    """`model.json`: a multi:softmax booster, as upstream's tests train it (answers a class)."""
    features, labels = load_iris(return_X_y=True)
    params = {
        "objective": "multi:softmax",
        "num_class": 3,
        "max_depth": 6,
        "eta": 0.1,
        "nthread": 1,
    }
    booster = xgboost.train(params, xgboost.DMatrix(features, label=labels), num_boost_round=10)
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(model_dir / XGBOOST_FILE)


def build_lightgbm(model_dir: Path) -> None:
    """`model.bst`: a multiclass booster with named features (answers class probabilities).

    As in upstream's tests, the features have scikit-learn's names, which LightGBM
    stores with underscores for spaces: `sepal_length_(cm)`, ….
    """
    table, labels = load_iris(return_X_y=True, as_frame=True)
    params = {"objective": "multiclass", "num_class": 3, "num_threads": 1, "verbose": -1}
    booster = lightgbm.train(params, lightgbm.Dataset(table, label=labels), num_boost_round=20)
    model_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(str(model_dir / LIGHTGBM_FILE))
