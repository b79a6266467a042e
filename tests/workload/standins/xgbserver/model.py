"""An XGBoost Booster as upstream's xgbserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kserve
import xgboost
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage
from standin_server import single_model_file

# The booster formats upstream accepts; exactly one such file must be in the model directory.
MODEL_EXTENSIONS = (".bst", ".json", ".ubj")


class XGBoostModel(kserve.Model):
    """A saved XGBoost Booster behind KServe's v1 and v2 APIs."""

    def __init__(self, name: str, model_dir: str, nthread: int) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.nthread = nthread
        self._booster: xgboost.Booster | None = None

    def load(self) -> bool:
        """Fetch the model directory and load its one booster file with `nthread` threads."""
        local_dir = Path(Storage.download(self.model_dir))
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        self._booster = xgboost.Booster(params={"nthread": self.nthread}, model_file=model_file)
        self.ready = True
        return self.ready

    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Predict for a v1 `instances` body or a v2 InferRequest: the booster's raw output."""
        if self._booster is None:
            raise InferenceError(f"model {self.name} is not loaded")
        try:
            matrix = xgboost.DMatrix(get_predict_input(payload), nthread=self.nthread)
            result = self._booster.predict(matrix)
        except Exception as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, result, self.name)
