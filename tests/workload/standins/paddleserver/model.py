"""A Paddle inference model (program + parameters) as upstream's paddleserver serves it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy
from kserve.protocol.infer_type import InferRequest
from kserve.utils.utils import get_predict_input
from paddle import inference
from standin_server import StoredModel, single_model_file

# The program: `.pdmodel` (Paddle 2 and the old IR), `.json` (Paddle 3's PIR). Exactly one of
# them, and exactly one parameters file.
PROGRAM_EXTENSIONS = (".pdmodel", ".json")
PARAMS_EXTENSIONS = (".pdiparams",)


class PaddleModel(StoredModel[Any]):
    """The program's first input fed with the request's rows, its first output answered."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name, model_dir)
        # One predictor, reused by every request: Paddle's predictor is not thread-safe.
        self._lock = threading.Lock()

    def load_files(self, local_dir: Path) -> Any:
        """Create a CPU predictor from the directory's program and parameters files."""
        program = single_model_file(local_dir, PROGRAM_EXTENSIONS)
        params = single_model_file(local_dir, PARAMS_EXTENSIONS)
        config = inference.Config(str(program), str(params))
        config.disable_gpu()
        return inference.create_predictor(config)

    def infer(self, predictor: Any, payload: dict[str, Any] | InferRequest) -> Any:
        """Run the program on the rows (as float32): its first output."""
        rows = numpy.asarray(get_predict_input(payload), dtype=numpy.float32)
        with self._lock:
            first_input = predictor.get_input_names()[0]
            handle = predictor.get_input_handle(first_input)
            handle.reshape(list(rows.shape))
            handle.copy_from_cpu(rows)
            predictor.run()
            first_output = predictor.get_output_names()[0]
            return predictor.get_output_handle(first_output).copy_to_cpu()
