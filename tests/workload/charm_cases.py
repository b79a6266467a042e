"""Every charm's workload case: the charm, the options that serve a model built here, the requests.

One table for every workload test that serves a model. A case says which
charm serves it and with which Juju options (besides `model-uri`, the built
model's directory, and the ports the tests choose), how the model is built
(`bench.models` for the light frameworks, which the benchmark serves too;
`tests.workload.models` for the heavy ones), the requests to send with the
answers they must get, and the pytest marker of its heavy framework (each
heavy framework runs in its own tox environment). The predictive charm has a case per framework,
the huggingface charm a classifier and a generative model.

The requests are upstream's examples (docs and tests of kserve v0.20, see
tests/workload/standins/README.md) wherever the model allows: the same iris
rows, the same sentences, the same expected classes, and the locally built
models were trained to give those answers. `answer` extracts from the JSON
response what `expected` is compared with.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy
import pytest

from bench.servers import ServedModel
from model_server_charm.config import CharmConfig
from model_server_charm.families import family_for
from model_server_charm.families.base import ServerFamily
from model_server_charm.families.kserve_python.options import KServeModelOptions
from model_server_charm.runtimes import Protocol, Runtime
from tests.charms import BY_NAME, ThinCharm, charm_config

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
PROMPT = "Hello, my dog is"
# The text and finish_reason of the completion, as upstream answers: with transformers
# (`--backend=huggingface`) the new tokens decoded, "length" unless a stop sequence ended it
# (also when the end-of-text token did); with vLLM (KServe's args, `--backend=auto`) vLLM's
# detokenized text and "stop" at the end-of-text token.
COMPLETION = ("cute", "length")
VLLM_COMPLETION = (" cute", "stop")
DEFAULT_READY_TIMEOUT_S = 180.0
# Loading torch and transformers takes a while on a busy 2-core machine.
HUGGINGFACE_READY_TIMEOUT_S = 300.0
UNTIMED_OPENAI = (
    "kserve 0.20's OpenAI data plane calls the model's create_completion directly, not"
    " Model.__call__, which times preprocess, predict and postprocess: no request_*_seconds"
)


# Example.kserve_expected when KServe's runtime args get the same answer as the case's options.
SAME_ANSWER: Any = object()


@dataclass(frozen=True)
class Example:
    """One request (as the `predict` action's payload) and the answer it must get.

    `expected` is the answer with the case's options; `kserve_expected` the answer with
    KServe's runtime args where they make the server answer otherwise (the huggingface
    server serves a generative model with vLLM under KServe's `--backend=auto`).
    """

    name: str
    protocol: Protocol
    body: dict[str, Any]
    answer: Callable[[Any], Any]
    expected: Any
    kserve_expected: Any = SAME_ANSWER

    @property
    def expected_with_kserve_args(self) -> Any:
        """The answer the server gives when started with KServe's runtime args."""
        return self.expected if self.kserve_expected is SAME_ANSWER else self.kserve_expected


@dataclass(frozen=True)
class CharmCase:
    """One charm serving one model built here."""

    name: str  # the test id, and the model's name where a test names it ({{.Name}})
    charm: ThinCharm
    build_model: str  # "module:function" writing the model into a directory
    examples: tuple[Example, ...]
    # Juju options besides model-uri and the ports (option name -> value).
    options: Mapping[str, Any] = field(default_factory=dict[str, Any])
    marker: str = ""  # the tox environment's pytest marker, for the heavy frameworks
    ready_timeout_s: float = DEFAULT_READY_TIMEOUT_S

    @property
    def runtime(self) -> Runtime:
        """The charm's runtime."""
        return self.charm.charm_type.runtime

    @property
    def family(self) -> ServerFamily:
        """The charm's server family."""
        return family_for(self.runtime)

    def config(self, model_uri: str, **values: Any) -> CharmConfig:
        """The charm's validated configuration: Juju's defaults, the case's options, `values`."""
        options = {name.replace("-", "_"): value for name, value in self.options.items()}
        return charm_config(self.runtime, model_uri=model_uri, **{**options, **values})

    @property
    def workers(self) -> int:
        """The server's worker processes with the case's options (on this machine's CPUs)."""
        config = self.config("/models")
        return config.group(KServeModelOptions).worker_count(config)

    @property
    def model_format(self) -> str:
        """KServe's model format name ({{.Annotations.modelFormat}}): the framework."""
        return str(self.options.get("framework", self.runtime.name))

    @property
    def timed_examples(self) -> tuple[Example, ...]:
        """The requests kserve's request_*_seconds histograms time (not the OpenAI routes').

        See UNTIMED_OPENAI.
        """
        return tuple(example for example in self.examples if example.protocol != "openai")

    def build(self, model_dir: Path) -> None:
        """Write the case's model into `model_dir` (importing its framework only now)."""
        module, function = self.build_model.split(":")
        builder: Callable[[Path], None] = getattr(importlib.import_module(module), function)
        builder(model_dir)

    def answers(self, client: ServedModel, model_dir: Path) -> dict[str, Any]:
        """Each request sent where the charm sends it, and the answer's judged part, by name."""
        config = self.config(str(model_dir), model_name=client.model_name)
        answers: dict[str, Any] = {}
        for example in self.examples:
            answer = self.family.infer(client, config, example.protocol, example.body, "")
            assert answer.status == 200, f"{example.name} answered {answer.status}: {answer.body}"
            answers[example.name] = example.answer(json.loads(answer.body))
        return answers

    @property
    def expected_answers(self) -> dict[str, Any]:
        """What `answers` must be: each example's documented answer, by name."""
        return {example.name: example.expected for example in self.examples}

    def model_in(self, model_dir: Path) -> Path:
        """`model_dir`, made and holding the case's model."""
        model_dir.mkdir(parents=True, exist_ok=True)
        self.build(model_dir)
        return model_dir

    @property
    def marks(self) -> list[pytest.MarkDecorator]:
        """Its framework's marker, if it has one."""
        return [getattr(pytest.mark, self.marker)] if self.marker else []

    def param(self) -> Any:
        """The case as a pytest parameter, with its framework's marker."""
        return pytest.param(self, id=self.name, marks=self.marks)


def v1(rows: list[Any], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v1", "v1", {"instances": rows}, answer, expected)


def v1_inputs(inputs: list[Any], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v1-inputs", "v1", {"inputs": inputs}, answer, expected)


def v2(tensors: list[dict[str, Any]], answer: Callable[[Any], Any], expected: Any) -> Example:
    return Example("v2", "v2", {"inputs": tensors}, answer, expected)


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
IRIS = "bench.models.iris"
BOOSTERS = "bench.models.boosters"
HUGGINGFACE = "tests.workload.models.huggingface"

CASES = (
    CharmCase(
        "sklearn", BY_NAME["sklearn-server"], f"{IRIS}:build_sklearn", iris_class_examples(0)
    ),
    CharmCase(
        "xgboost", BY_NAME["xgboost-server"], f"{BOOSTERS}:build_xgboost", iris_class_examples(0)
    ),
    CharmCase(
        "lightgbm",
        BY_NAME["lightgbm-server"],
        f"{BOOSTERS}:build_lightgbm",
        LIGHTGBM_EXAMPLES,
        {"workers": 2},
    ),
    CharmCase(
        "pmml",
        BY_NAME["pmml-server"],
        "bench.models.pmml:build_pmml",
        (
            v1([SETOSA_ROW], predictions, [PMML_SETOSA]),
            v2(fp32([SETOSA_ROW]), v2_by_name, PMML_SETOSA),
        ),
        {"workers": 2},
    ),
    *(
        CharmCase(
            f"predictive-{framework}",
            BY_NAME["predictive-server"],
            f"{module}:build_{framework}",
            examples,
            {"framework": framework, "workers": workers},
        )
        for framework, module, examples, workers in (
            ("sklearn", IRIS, iris_class_examples(0), 2),
            ("xgboost", BOOSTERS, iris_class_examples(0), 2),
            ("lightgbm", BOOSTERS, LIGHTGBM_EXAMPLES, 2),
        )
    ),
    CharmCase(
        "paddle",
        BY_NAME["paddle-server"],
        "tests.workload.models.paddle_iris:build_paddle",
        (
            v1([SETOSA_ROW, *VERSICOLOR_ROWS], v1_argmax, [0, 1, 1]),
            v2(fp32([SETOSA_ROW, *VERSICOLOR_ROWS]), v2_argmax, [0, 1, 1]),
        ),
        {"workers": 2},
        marker="paddle",
    ),
    CharmCase(
        "huggingface-classifier",
        BY_NAME["huggingface-server"],
        f"{HUGGINGFACE}:build_sequence_classifier",
        (
            v1(SENTENCES, predictions, [1, 0]),
            v2(
                [{"name": "input-0", "shape": [2], "datatype": "BYTES", "data": SENTENCES}],
                first_output,
                [1, 0],
            ),
        ),
        {"workers": 1},
        marker="huggingface",
        ready_timeout_s=HUGGINGFACE_READY_TIMEOUT_S,
    ),
    CharmCase(
        "huggingface-generative",
        BY_NAME["huggingface-server"],
        f"{HUGGINGFACE}:build_causal_lm",
        (
            Example(
                "openai-completions",
                "openai",
                {"prompt": PROMPT, "max_tokens": 5},
                completion_text,
                COMPLETION,
                VLLM_COMPLETION,
            ),
            Example(
                "openai-chat-completions",
                "openai",
                {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": 5},
                chat_text,
                COMPLETION,
                VLLM_COMPLETION,
            ),
        ),
        {"workers": 1, "task": "text_generation", "backend": "huggingface"},
        marker="huggingface",
        ready_timeout_s=HUGGINGFACE_READY_TIMEOUT_S,
    ),
    CharmCase(
        "autogluon",
        BY_NAME["autogluon-server"],
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
CASE_PARAMS = [case.param() for case in CASES]


def first_of_its_environment(case: CharmCase) -> CharmCase:
    """The first case with the same marker: the one that represents its tox environment."""
    return next(other for other in CASES if other.marker == case.marker)
