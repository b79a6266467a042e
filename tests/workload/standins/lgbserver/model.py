"""A LightGBM Booster as upstream's lgbserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm
import numpy
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
from standin_server import StoredModel, single_model_file

# Exactly one LightGBM text model file must be in the model directory.
MODEL_EXTENSIONS = (".bst",)


class LightGBMModel(StoredModel[lightgbm.Booster]):
    """A saved LightGBM Booster behind KServe's v1 and v2 APIs.

    Rows may be lists in feature order or, in v1 `inputs`/`instances`, objects
    keyed by the booster's feature names (the names it was trained with).
    """

    def __init__(self, name: str, model_dir: str, nthread: int) -> None:
        super().__init__(name, model_dir)
        self.nthread = nthread

    def load_files(self, local_dir: Path) -> lightgbm.Booster:
        """Load the directory's one booster file with `nthread` threads."""
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        return lightgbm.Booster(params={"nthread": self.nthread}, model_file=model_file)

    def infer(self, booster: lightgbm.Booster, payload: dict[str, Any] | InferRequest) -> Any:
        """Predict class probabilities (multiclass) or values, one row per instance."""
        inputs = get_predict_input(payload, columns=booster.feature_name())
        return numpy.asarray(booster.predict(inputs))
