"""A Paddle inference model of an iris classifier, saved with `paddle.jit.save`."""

from __future__ import annotations

from pathlib import Path

import numpy
import paddle
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression


def iris_classifier() -> LogisticRegression:
    """The softmax regression the Paddle model computes (its reference for expected answers)."""
    features, labels = load_iris(return_X_y=True)
    return LogisticRegression(max_iter=1000).fit(features, labels)


def build_paddle(model_dir: Path) -> None:
    """`model.json` (Paddle 3's program format) + `model.pdiparams`: softmax(x·W + b).

    The weights are those of `iris_classifier()`, so the served model answers
    the same class probabilities as that scikit-learn model, to float32 precision.
    """
    reference = iris_classifier()
    layer = paddle.nn.Linear(4, 3)
    layer.weight.set_value(numpy.asarray(reference.coef_, dtype=numpy.float32).T)
    layer.bias.set_value(numpy.asarray(reference.intercept_, dtype=numpy.float32))
    network = paddle.nn.Sequential(layer, paddle.nn.Softmax())
    network.eval()
    model_dir.mkdir(parents=True, exist_ok=True)
    spec = [paddle.static.InputSpec(shape=[None, 4], dtype="float32", name="x")]
    paddle.jit.save(network, str(model_dir / "model"), input_spec=spec)
