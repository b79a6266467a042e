"""A LightGBM Booster as upstream's lgbserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kserve
import lightgbm
import numpy
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage
from standin_server import single_model_file

# Exactly one LightGBM text model file must be in the model directory.
MODEL_EXTENSIONS = (".bst",)


class LightGBMModel(kserve.Model):
    """A saved LightGBM Booster behind KServe's v1 and v2 APIs.

    Rows may be lists in feature order or, in v1 `inputs`/`instances`, objects
    keyed by the booster's feature names (the names it was trained with).
    """

    def __init__(self, name: str, model_dir: str, nthread: int) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.nthread = nthread
        self._booster: lightgbm.Booster | None = None

    def load(self) -> bool:
        """Fetch the model directory and load its one booster file with `nthread` threads."""
        local_dir = Path(Storage.download(self.model_dir))
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        self._booster = lightgbm.Booster(params={"nthread": self.nthread}, model_file=model_file)
        self.ready = True
        return self.ready

    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Predict class probabilities (multiclass) or values, one row per instance."""
        if self._booster is None:
            raise InferenceError(f"model {self.name} is not loaded")
        try:
            inputs = get_predict_input(payload, columns=self._booster.feature_name())
            result = numpy.asarray(self._booster.predict(inputs))
        except Exception as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, result, self.name)
