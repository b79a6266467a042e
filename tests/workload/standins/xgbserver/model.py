"""An XGBoost Booster as upstream's xgbserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import xgboost
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
from standin_server import StoredModel, single_model_file

# The booster formats upstream accepts; exactly one such file must be in the model directory.
MODEL_EXTENSIONS = (".bst", ".json", ".ubj")


class XGBoostModel(StoredModel[xgboost.Booster]):
    """A saved XGBoost Booster behind KServe's v1 and v2 APIs: its raw output per row."""

    def __init__(self, name: str, model_dir: str, nthread: int) -> None:
        super().__init__(name, model_dir)
        self.nthread = nthread

    def load_files(self, local_dir: Path) -> xgboost.Booster:
        """Load the directory's one booster file with `nthread` threads."""
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        return xgboost.Booster(params={"nthread": self.nthread}, model_file=model_file)

    def infer(self, booster: xgboost.Booster, payload: dict[str, Any] | InferRequest) -> Any:
        """Predict for the request's rows (a v1 `instances` body or a v2 tensor)."""
        matrix = xgboost.DMatrix(get_predict_input(payload), nthread=self.nthread)
        return booster.predict(matrix)
