"""A PMML document evaluated by JPMML (Java, through Py4J) as upstream's pmmlserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kserve
import pandas
from jpmml_evaluator import Evaluator, make_evaluator
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage
from standin_server import single_model_file

MODEL_EXTENSIONS = (".pmml",)
# Upstream's bridge to the JVM: a Py4J gateway, one per server process.
JAVA_BACKEND = "py4j"


class PmmlModel(kserve.Model):
    """One PMML model; each row of the request is zipped with the model's input field names.

    The answer is JPMML's result per row: the target and every output field
    the document declares (v1: one object per row; v2: one tensor per field).
    """

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self._evaluator: Evaluator | None = None
        self._input_fields: list[str] = []

    def load(self) -> bool:
        """Start the JVM gateway, load the one .pmml file and verify it against its own data."""
        local_dir = Path(Storage.download(self.model_dir))
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        self._evaluator = make_evaluator(str(model_file), backend=JAVA_BACKEND).verify()
        self._input_fields = [field.getName() for field in self._evaluator.getInputFields()]
        self.ready = True
        return self.ready

    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Evaluate each row and answer JPMML's results as a table."""
        evaluator = self._evaluator
        if evaluator is None:
            raise InferenceError(f"model {self.name} is not loaded")
        try:
            rows = get_predict_input(payload)
            results = [
                evaluator.evaluate(dict(zip(self._input_fields, row, strict=False)))
                for row in rows
            ]
        except Exception as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, pandas.DataFrame(results), self.name)
