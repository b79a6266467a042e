"""The scikit-learn iris classifier: upstream's example model, trained here."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import joblib
from sklearn.datasets import load_iris
from sklearn.svm import SVC

MODEL_FILE = "model.joblib"


def train_iris_model(model_dir: Path) -> Any:
    """Fit an iris SVC like upstream's example model and save it as the server loads it.

    Returns the estimator. Calling it again on the same directory rewrites
    `model.joblib`.
    """
    features, labels = load_iris(return_X_y=True)
    model = SVC(gamma="scale").fit(features, labels)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
    return model


def build_sklearn(model_dir: Path) -> None:
    """`model.joblib`: the iris SVC (class labels 0, 1, 2)."""
    train_iris_model(model_dir)
