"""An AutoGluon TabularPredictor as upstream's autogluonserver serves it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy
import pandas
from autogluon.tabular import TabularPredictor
from kserve.errors import InferenceError, ModelMissingError
from kserve.protocol.infer_type import InferOutput, InferRequest, InferResponse
from kserve.utils.utils import (
    from_np_dtype,
    generate_uuid,
    get_predict_input,
    get_predict_response,
)
from standin_server import StoredModel

# Upstream's switch from labels to one probability column per class.
ENV_PREDICT_PROBA = "PREDICT_PROBA"


class AutoGluonModel(StoredModel[TabularPredictor]):
    """A TabularPredictor behind KServe's v1 and v2 APIs.

    v1 rows are lists in the predictor's feature order or objects keyed by
    feature name. v2 takes one tensor per feature, named after it, of shape
    [batch] or [batch, 1]; the answer is a `predictions` tensor (or, with
    PREDICT_PROBA=true, one `proba_<label>` tensor per class).
    """

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        self.predict_proba = os.environ.get(ENV_PREDICT_PROBA, "false").lower() == "true"

    def load_files(self, local_dir: Path) -> TabularPredictor:
        """Load the fetched directory itself as a TabularPredictor."""
        if not local_dir.is_dir():
            raise ModelMissingError(str(local_dir))
        return TabularPredictor.load(str(local_dir))

    def infer(
        self, predictor: TabularPredictor, payload: dict[str, Any] | InferRequest
    ) -> pandas.Series | pandas.DataFrame | numpy.ndarray[Any, Any]:
        """Predict labels (or class probabilities) for the request's rows."""
        table = self._table(payload, list(predictor.features()))
        if self.predict_proba:
            return predictor.predict_proba(table)
        return predictor.predict(table)

    def response(
        self, payload: dict[str, Any] | InferRequest, result: Any
    ) -> dict[str, Any] | InferResponse:
        """v2: one tensor per output column, typed after numpy; v1: kserve's helper."""
        if isinstance(payload, InferRequest):
            return InferResponse(
                response_id=payload.id or generate_uuid(),
                model_name=self.name,
                infer_outputs=_outputs(result, payload.use_binary_outputs),
                use_binary_outputs=payload.use_binary_outputs,
            )
        if isinstance(result, pandas.Series):
            return get_predict_response(payload, result.tolist(), self.name)
        return get_predict_response(payload, result, self.name)

    @staticmethod
    def _table(payload: dict[str, Any] | InferRequest, features: list[str]) -> pandas.DataFrame:
        if isinstance(payload, InferRequest):
            columns = {tensor.name: tensor.as_numpy().reshape(-1) for tensor in payload.inputs}
            missing = [feature for feature in features if feature not in columns]
            if missing:
                raise ValueError(f"missing feature tensors {missing}: send one per feature")
            return pandas.DataFrame({feature: columns[feature] for feature in features})
        rows = get_predict_input(payload)
        if isinstance(rows, pandas.DataFrame):
            return rows
        return pandas.DataFrame(numpy.asarray(rows), columns=pandas.Index(features))


def _outputs(
    result: pandas.Series | pandas.DataFrame | numpy.ndarray[Any, Any], binary: bool
) -> list[InferOutput]:
    """One `predictions` tensor for labels, one `proba_<label>` tensor per class otherwise."""
    if isinstance(result, pandas.DataFrame):
        named = {f"proba_{label}": result[label].to_numpy() for label in result.columns}
    else:
        named = {"predictions": numpy.asarray(result)}
    outputs: list[InferOutput] = []
    for name, values in named.items():
        if values.dtype == object:
            values = values.astype(str).astype(object)
        datatype = "BYTES" if values.dtype == object else from_np_dtype(values.dtype)
        if datatype is None:
            raise InferenceError(f"no v2 datatype for {name} of numpy type {values.dtype}")
        output = InferOutput(name=name, shape=list(values.shape), datatype=datatype)
        output.set_data_from_numpy(values, binary_data=binary)
        outputs.append(output)
    return outputs
