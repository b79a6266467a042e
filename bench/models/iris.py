"""The scikit-learn iris classifier: upstream's example model, trained here."""

from __future__ import annotations

from pathlib import Path

import joblib
from sklearn.datasets import load_iris
from sklearn.svm import SVC

MODEL_FILE = "model.joblib"


def build_sklearn(model_dir: Path) -> None:
    """`model.joblib`: an iris SVC like upstream's example model (class labels 0, 1, 2).

    Calling it again on the same directory rewrites the file.
    """
    features, labels = load_iris(return_X_y=True)
    model = SVC(gamma="scale").fit(features, labels)
    model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, model_dir / MODEL_FILE)
