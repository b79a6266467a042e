"""A PMML document evaluated by JPMML (Java, through Py4J) as upstream's pmmlserver serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas
from jpmml_evaluator import Evaluator, make_evaluator
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
from standin_server import StoredModel, single_model_file

MODEL_EXTENSIONS = (".pmml",)
# Upstream's bridge to the JVM: a Py4J gateway, one per server process.
JAVA_BACKEND = "py4j"


class PmmlModel(StoredModel[Evaluator]):
    """One PMML model; each row of the request is zipped with the model's input field names.

    The answer is JPMML's result per row: the target and every output field
    the document declares (v1: one object per row; v2: one tensor per field).
    """

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        self._input_fields: list[str] = []

    def load_files(self, local_dir: Path) -> Evaluator:
        """Start the JVM gateway, load the one .pmml file and verify it against its own data."""
        model_file = single_model_file(local_dir, MODEL_EXTENSIONS)
        evaluator = make_evaluator(str(model_file), backend=JAVA_BACKEND).verify()
        self._input_fields = [field.getName() for field in evaluator.getInputFields()]
        return evaluator

    def infer(self, evaluator: Evaluator, payload: dict[str, Any] | InferRequest) -> Any:
        """Evaluate each row: JPMML's results as a table."""
        rows = get_predict_input(payload)
        results = [
            evaluator.evaluate(dict(zip(self._input_fields, row, strict=False))) for row in rows
        ]
        return pandas.DataFrame(results)
