"""Each KServe Python runtime as the stand-in tests serve it: model, example requests, answers.

The examples are upstream's (docs and tests of kserve v0.20, see
tests/workload/standins/README.md) wherever the model allows: the same iris
rows, the same sentences, the same expected classes. `answer` extracts from the
JSON response what `expected` is compared with.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy

# Rows of upstream's iris examples, in scikit-learn's feature order.
SETOSA_ROW = [5.1, 3.5, 1.4, 0.2]
VERSICOLOR_ROWS = [[6.8, 2.8, 4.8, 1.4], [6.0, 3.4, 4.5, 1.6]]
LIGHTGBM_SETOSA = {
    "sepal_length_(cm)": [5.1],
    "sepal_width_(cm)": [3.5],
    "petal_length_(cm)": [1.4],
    "petal_width_(cm)": [0.2],
}
AUTOGLUON_SETOSA = dict(
    zip(["sepal_length", "sepal_width", "petal_length", "petal_width"], SETOSA_ROW, strict=True)
)
SENTENCES = ["Hello, my dog is cute", "I am feeling sad"]
PMML_SETOSA = {
    "Species": "setosa",
    "Probability_setosa": 1.0,
    "Probability_versicolor": 0.0,
    "Probability_virginica": 0.0,
    "Node_Id": "2",
}


@dataclass(frozen=True)
class Example:
    """One request and the answer the runtime must give to it."""

    name: str
    path: str  # `{model}` is replaced with the served model's name
    body: dict[str, Any]
    answer: Callable[[Any], Any]
    expected: Any


@dataclass(frozen=True)
class Runtime:
    """One stand-in runtime under test, started from KServe's own ClusterServingRuntime."""

    name: str  # the test id and the served model's name ({{.Name}})
    server: str  # the module, and the manifest kserve-<server>.yaml
    build_model: str  # "module:function" writing the model into a directory
    examples: tuple[Example, ...]
    model_format: str = ""  # {{.Annotations.modelFormat}}
    marker: str = ""  # the tox environment's pytest marker, for the heavy frameworks
    # Arguments for what the manifest leaves to KServe (the model's place, when it relies on
    # the server's default of /mnt/models).
    extra_args: tuple[str, ...] = ()
    ready_timeout_s: float = 180


def v1(rows: list[Any], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v1", "/v1/models/{model}:predict", {"instances": rows}, answer, expected)


def v1_inputs(inputs: list[Any], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v1-inputs", "/v1/models/{model}:predict", {"inputs": inputs}, answer, expected)


def v2(tensors: list[dict[str, Any]], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v2", "/v2/models/{model}/infer", {"inputs": tensors}, answer, expected)


def fp32(rows: list[list[float]]) -> list[dict[str, Any]]:
    """One FP32 tensor of the rows, as upstream's v2 examples send them."""
    return [
        {"name": "input-0", "shape": [len(rows), len(rows[0])], "datatype": "FP32", "data": rows}
    ]


def predictions(response: Any) -> Any:
    return response["predictions"]


def first_output(response: Any) -> Any:
    return response["outputs"][0]["data"]


def argmax_rows(rows: Any) -> list[int]:
    return numpy.asarray(rows).reshape(len(rows), -1).argmax(axis=1).tolist()


def v1_argmax(response: Any) -> list[int]:
    return argmax_rows(response["predictions"])


def v2_argmax(response: Any) -> list[int]:
    output = response["outputs"][0]
    return numpy.asarray(output["data"]).reshape(output["shape"]).argmax(axis=-1).tolist()


def v2_by_name(response: Any) -> dict[str, Any]:
    return {output["name"]: output["data"][0] for output in response["outputs"]}


def completion_text(response: Any) -> tuple[str, str]:
    choice = response["choices"][0]
    return choice["text"], choice["finish_reason"]


def chat_text(response: Any) -> tuple[str, str]:
    choice = response["choices"][0]
    return choice["message"]["content"], choice["finish_reason"]


def iris_class_examples(setosa_class: Any) -> tuple[Example, ...]:
    """Upstream's iris rows for a model that answers class labels."""
    return (
        v1([SETOSA_ROW, *VERSICOLOR_ROWS], predictions, [setosa_class, 1, 1]),
        v2(fp32([SETOSA_ROW, *VERSICOLOR_ROWS]), first_output, [setosa_class, 1, 1]),
    )


LIGHTGBM_EXAMPLES = (
    v1_inputs([LIGHTGBM_SETOSA], v1_argmax, [0]),
    v2(fp32([SETOSA_ROW, *VERSICOLOR_ROWS]), v2_argmax, [0, 1, 1]),
)
COMPLETION = ("cute", "stop")
GENERATIVE_MODEL = "huggingface-generative"

RUNTIMES = (
    Runtime(
        "sklearn",
        "sklearnserver",
        "bench.models.iris:build_sklearn",
        iris_class_examples(0),
    ),
    Runtime("xgboost", "xgbserver", "bench.models.boosters:build_xgboost", iris_class_examples(0)),
    Runtime("lightgbm", "lgbserver", "bench.models.boosters:build_lightgbm", LIGHTGBM_EXAMPLES),
    Runtime(
        "pmml",
        "pmmlserver",
        "bench.models.pmml:build_pmml",
        (
            v1([SETOSA_ROW], predictions, [PMML_SETOSA]),
            v2(fp32([SETOSA_ROW]), v2_by_name, PMML_SETOSA),
        ),
    ),
    *(
        Runtime(
            f"predictive-{framework}",
            "predictiveserver",
            f"bench.models.{module}:build_{framework}",
            examples,
            model_format=framework,
        )
        for framework, module, examples in (
            ("sklearn", "iris", iris_class_examples(0)),
            ("xgboost", "boosters", iris_class_examples(0)),
            ("lightgbm", "boosters", LIGHTGBM_EXAMPLES),
        )
    ),
    Runtime(
        "paddle",
        "paddleserver",
        "tests.workload.models.paddle_iris:build_paddle",
        (
            v1([SETOSA_ROW, *VERSICOLOR_ROWS], v1_argmax, [0, 1, 1]),
            v2(fp32([SETOSA_ROW, *VERSICOLOR_ROWS]), v2_argmax, [0, 1, 1]),
        ),
        marker="paddle",
    ),
    Runtime(
        "huggingface-classifier",
        "huggingfaceserver",
        "tests.workload.models.huggingface:build_sequence_classifier",
        (
            v1(SENTENCES, predictions, [1, 0]),
            v2(
                [{"name": "input-0", "shape": [2], "datatype": "BYTES", "data": SENTENCES}],
                first_output,
                [1, 0],
            ),
        ),
        marker="huggingface",
        extra_args=("--model_dir={model_dir}",),
        ready_timeout_s=300,
    ),
    Runtime(
        GENERATIVE_MODEL,
        "huggingfaceserver",
        "tests.workload.models.huggingface:build_causal_lm",
        (
            Example(
                "openai-completions",
                "/openai/v1/completions",
                {"model": GENERATIVE_MODEL, "prompt": "Hello, my dog is", "max_tokens": 5},
                completion_text,
                COMPLETION,
            ),
            Example(
                "openai-chat-completions",
                "/openai/v1/chat/completions",
                {
                    "model": GENERATIVE_MODEL,
                    "messages": [{"role": "user", "content": "Hello, my dog is"}],
                    "max_tokens": 5,
                },
                chat_text,
                COMPLETION,
            ),
        ),
        marker="huggingface",
        extra_args=("--model_dir={model_dir}",),
        ready_timeout_s=300,
    ),
    Runtime(
        "autogluon",
        "autogluonserver",
        "tests.workload.models.autogluon_iris:build_autogluon",
        (
            v1(
                [SETOSA_ROW, *VERSICOLOR_ROWS], predictions, ["setosa", "versicolor", "versicolor"]
            ),
            v2(
                [
                    {"name": name, "shape": [1], "datatype": "FP64", "data": [value]}
                    for name, value in AUTOGLUON_SETOSA.items()
                ],
                first_output,
                ["setosa"],
            ),
        ),
        marker="autogluon",
    ),
)
