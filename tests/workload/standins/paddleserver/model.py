"""A Paddle inference model (program + parameters) as upstream's paddleserver serves it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import kserve
import numpy
from kserve.errors import InferenceError
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_input, get_predict_response
from kserve_storage import Storage
from paddle import inference
from standin_server import single_model_file

# The program: `.pdmodel` (Paddle 2 and the old IR), `.json` (Paddle 3's PIR). Exactly one of
# them, and exactly one parameters file.
PROGRAM_EXTENSIONS = (".pdmodel", ".json")
PARAMS_EXTENSIONS = (".pdiparams",)


class PaddleModel(kserve.Model):
    """The program's first input fed with the request's rows, its first output answered."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self._predictor: Any = None
        # One predictor, reused by every request: Paddle's predictor is not thread-safe.
        self._lock = threading.Lock()

    def load(self) -> bool:
        """Fetch the model directory and create a CPU predictor from its two files."""
        local_dir = Path(Storage.download(self.model_dir))
        program = single_model_file(local_dir, PROGRAM_EXTENSIONS)
        params = single_model_file(local_dir, PARAMS_EXTENSIONS)
        config = inference.Config(str(program), str(params))
        config.disable_gpu()
        self._predictor = inference.create_predictor(config)
        self.ready = True
        return self.ready

    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Run the program on the rows (as float32) and answer its first output."""
        if self._predictor is None:
            raise InferenceError(f"model {self.name} is not loaded")
        try:
            rows = numpy.asarray(get_predict_input(payload), dtype=numpy.float32)
            with self._lock:
                first_input = self._predictor.get_input_names()[0]
                handle = self._predictor.get_input_handle(first_input)
                handle.reshape(list(rows.shape))
                handle.copy_from_cpu(rows)
                self._predictor.run()
                first_output = self._predictor.get_output_names()[0]
                result = self._predictor.get_output_handle(first_output).copy_to_cpu()
        except Exception as error:
            raise InferenceError(str(error)) from error
        return get_predict_response(payload, result, self.name)
