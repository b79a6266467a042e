"""Every upstream example of every charm, and what a server would answer to it."""

from __future__ import annotations

from typing import Any

import pytest

from model_server_charm.runtimes import Example
from tests.charms import KSERVE_CHARMS, ThinCharm

# The model every unit test serves unless it says otherwise.
MODEL_URI = "s3://models/iris"
CharmExample = tuple[ThinCharm, Example]
CHARM_EXAMPLES = [
    pytest.param((charm, example), id=f"{charm.name}-{example.protocol}-{index}")
    for charm in KSERVE_CHARMS
    for index, example in enumerate(charm.charm_type.runtime.examples)
]


def selecting(example: Example) -> dict[str, Any]:
    """The options under which a charm serves the example's model and sends it."""
    return {**example.when, "model-uri": example.model_uri or MODEL_URI}


def documented_answer(example: Example) -> Any:
    """What the example model answers: the documented answer, as the server shapes it.

    An `argmax` example documents the best class of each row; the server answers
    every class's score, the documented one highest.
    """
    if example.expected is None:
        return {"predictions": [], "outputs": [], "choices": [{"text": "cute"}]}
    if example.judge == "argmax":
        classes: list[int] = example.expected["predictions"]
        scores = [[0.9 if column == best else 0.05 for column in range(3)] for best in classes]
        return {"predictions": scores}
    return example.expected
