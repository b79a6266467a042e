"""The scikit-learn model as upstream's sklearnserver serves it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
from standin_server import StoredModel, single_model_file

# The file suffixes upstream accepts; exactly one such file must be in the model directory.
MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
# Upstream's switch from class labels to class probabilities.
ENV_PREDICT_PROBA = "PREDICT_PROBA"


class SKLearnModel(StoredModel[Any]):
    """A joblib-serialised scikit-learn estimator behind KServe's v1 and v2 APIs."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        # Read once: the environment of a running server does not change.
        self.predict_proba = os.environ.get(ENV_PREDICT_PROBA, "false").lower() == "true"

    def load_files(self, local_dir: Path) -> Any:
        """Unpickle the directory's one model file (only files directly in it count)."""
        return joblib.load(single_model_file(local_dir, MODEL_EXTENSIONS))

    def infer(self, estimator: Any, payload: dict[str, Any] | InferRequest) -> Any:
        """Predict labels, or class probabilities (PREDICT_PROBA=true) when the estimator can."""
        inputs = get_predict_input(payload)
        if self.predict_proba and hasattr(estimator, "predict_proba"):
            return estimator.predict_proba(inputs)
        return estimator.predict(inputs)
