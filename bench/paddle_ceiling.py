"""PaddlePaddle's in-process ceiling (tox -e bench-paddle): the predictor paddleserver runs.

As upstream's paddleserver predicts: an inference predictor on the CPU, the
rows copied in as float32, run, the first output copied out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy
from kserve.utils.utils import get_predict_input
from paddle import inference

from bench.ceilings import in_process_rate


def paddle_ceiling(model_dir: Path, request: dict[str, Any], seconds: float) -> float:
    """The predictor's rate on the request's rows (model.json + model.pdiparams)."""
    config = inference.Config(str(model_dir / "model.json"), str(model_dir / "model.pdiparams"))
    config.disable_gpu()
    config.disable_glog_info()  # its optimisation passes would fill the report
    predictor = inference.create_predictor(config)
    source = predictor.get_input_handle(predictor.get_input_names()[0])
    target = predictor.get_output_handle(predictor.get_output_names()[0])
    rows = numpy.array(get_predict_input(request), dtype="float32")

    def predict() -> object:
        source.copy_from_cpu(rows)
        predictor.run()
        return target.copy_to_cpu()

    return in_process_rate(predict, seconds)
