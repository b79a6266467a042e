"""The scikit-learn model as upstream's sklearnserver serves it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import joblib
import kserve
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage
from standin_server import single_model_file

# The file suffixes upstream accepts; exactly one such file must be in the model directory.
MODEL_EXTENSIONS = (".joblib", ".pkl", ".pickle")
# Upstream's switch from class labels to class probabilities.
ENV_PREDICT_PROBA = "PREDICT_PROBA"


class SKLearnModel(kserve.Model):
    """A joblib-serialised scikit-learn estimator behind KServe's v1 and v2 APIs."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        # Read once: the environment of a running server does not change.
        self.predict_proba = os.environ.get(ENV_PREDICT_PROBA, "false").lower() == "true"
        self._estimator: Any = None

    def load(self) -> bool:
        """Fetch the model directory (any kserve-storage URI) and unpickle its one model file.

        Like upstream, only files directly in the directory count, and exactly
        one must have a model suffix.
        """
        local_dir = Path(Storage.download(self.model_dir))
        self._estimator = joblib.load(single_model_file(local_dir, MODEL_EXTENSIONS))
        self.ready = True
        return self.ready

    # Synchronous, like upstream's: kserve awaits predict only when it is a coroutine
    # function, and a CPU-bound sklearn call gains nothing from being one.
    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Predict for a v1 `instances` body or a v2 InferRequest.

        Decoding and encoding go through kserve's own helpers so both protocols
        answer exactly as every other KServe Python runtime does.
        """
        try:
            inputs = get_predict_input(payload)
            if self.predict_proba and hasattr(self._estimator, "predict_proba"):
                result = self._estimator.predict_proba(inputs)
            else:
                result = self._estimator.predict(inputs)
        except Exception as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, result, self.name)
