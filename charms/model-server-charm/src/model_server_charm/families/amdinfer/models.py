"""The `models` option of the AMD Inference Server's charm: which models it serves.

`models` is a YAML (or JSON) list. Each entry is one of:

- a **repository model**: `name`, `uri` (the model file: http(s)://, gs://,
  s3:// or a path in the server's container) and its `platform`, `inputs` and
  `outputs`; in sidecar mode the charm writes `<repository>/<name>/config.toml`
  and `<repository>/<name>/1/<file>` and loads it through the repository API;
  in serverless mode it is a TrainedModel whose `uri` KServe's model agent
  downloads into the repository (`framework`, `memory` go to the TrainedModel);
- a **worker model**: `name`, `worker` and its flat `parameters` (e.g.
  `{worker: cplusplus, parameters: {model: echo}}`), loaded through the worker API
  (sidecar mode only: KServe loads models from storage).

Everything is validated at once, with the other options, and every value that
reaches a file, a URL or the server is checked against an anchored pattern.
The option is read in every hook, through `bounded.parse_yaml`: at most 64 KiB,
8 levels deep, integers of at most 20 digits, only finite numbers, and no
anchors, aliases or tags (a few hundred bytes of aliases expand to gigabytes).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from model_server_charm import bounded, validation
from model_server_charm.bounded import quote

# The option is read by the charm on every hook: a model list, not a model.
MODELS_LIMITS = bounded.JSONLimits(max_bytes=64 * 1024, max_depth=8, max_integer_digits=20)
MAX_MODELS = 64
# A model's name is a repository directory, a URL path segment and, in serverless
# mode, a TrainedModel's name: Kubernetes wants an RFC 1123 subdomain (no '_', no
# capitals) and KServe's TrainedModel webhook no '.', so an RFC 1123 label.
MODEL_NAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
MODEL_NAME_RULE = (
    "an RFC 1123 label, as Kubernetes names a TrainedModel: lowercase letters, digits and"
    " '-', starting and ending with a letter or digit, at most 63"
)
# A repository directory as the actions load-model/unload-model name it (an
# operator's, or KServe's model agent's): any safe URL path segment.
REPOSITORY_NAME = re.compile(r"[a-z0-9]([a-z0-9_-]{0,61}[a-z0-9])?")
WORKER_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
TENSOR_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
PARAMETER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
PLATFORM = re.compile(r"[a-z][a-z0-9_]{0,63}")
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
MODEL_URI = re.compile(
    r"(https?|gs|s3)://[A-Za-z0-9._~:@%+-]+(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?|/[^\s\x00]*"
)
QUANTITY = re.compile(r"[0-9]+(\.[0-9]+)?([KMGTPE]i|[kMGTPE])?")
# The KServe v2 tensor types amdinfer-server v0.4.0 reads (its DataType: no STRING,
# which it refuses at load with "Unknown datatype passed").
DATATYPES = (
    "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
    "FP16", "FP32", "FP64", "BYTES",
)  # fmt: skip
# What a worker's parameter may be: jsoncpp (the server's parser) holds integers in 64 bits.
MIN_PARAMETER_INT, MAX_PARAMETER_INT = -(2**63), 2**64 - 1
MAX_DIMENSION = 2**31 - 1


@dataclass(frozen=True)
class Tensor:
    """One declared input or output of a repository model."""

    name: str
    datatype: str
    shape: tuple[int, ...]


@dataclass(frozen=True)
class ModelEntry:
    """One entry of `models`, validated."""

    name: str
    uri: str = ""
    platform: str = ""
    inputs: tuple[Tensor, ...] = ()
    outputs: tuple[Tensor, ...] = ()
    worker: str = ""
    parameters: dict[str, str | int | float | bool] = field(default_factory=dict[str, Any])
    framework: str = "amdinfer"
    memory: str = "1Gi"

    @property
    def file_name(self) -> str:
        """The model file's name in `<repository>/<name>/1/`."""
        return self.uri.rstrip("/").rsplit("/", 1)[-1]

    @property
    def is_worker(self) -> bool:
        """Whether the model is loaded through the worker API (no repository entry)."""
        return bool(self.worker)


class ModelsError(ValueError):
    """What is wrong with `models`, every problem listed."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_models(text: str) -> tuple[ModelEntry, ...]:
    """The entries of `models`; raise ModelsError naming every problem."""
    if not text.strip():
        return ()
    try:
        document: Any = bounded.parse_yaml(text, MODELS_LIMITS, "models")
    except bounded.JSONInputError as error:
        raise ModelsError([str(error)]) from error
    if not isinstance(document, list) or len(document) > MAX_MODELS:
        raise ModelsError([f"models must be a list of at most {MAX_MODELS} entries"])
    entries: list[ModelEntry] = []
    problems: list[str] = []
    for index, raw in enumerate(document):
        try:
            entries.append(_entry(raw))
        except ModelsError as error:
            problems += [f"models[{index}]: {problem}" for problem in error.problems]
    names = [entry.name for entry in entries]
    problems += [
        f"models: {name!r} is named twice" for name in sorted(set(names)) if names.count(name) > 1
    ]
    if problems:
        raise ModelsError(problems)
    return tuple(entries)


KEYS = frozenset(
    {"name", "uri", "platform", "inputs", "outputs", "worker", "parameters", "framework", "memory"}
)


def _entry(raw: Any) -> ModelEntry:
    if not isinstance(raw, dict):
        raise ModelsError(["each entry is a mapping (name, uri, platform, … or name, worker, …)"])
    problems = [f"unknown key {quote(str(key))}" for key in raw if key not in KEYS]
    name = raw.get("name")
    if not (isinstance(name, str) and MODEL_NAME.fullmatch(name)):
        problems.append(f"name={quote(str(name))}: {MODEL_NAME_RULE}")
    build = _worker_entry if raw.get("worker") is not None else _repository_entry
    entry, more = build(str(name), raw)
    if problems or more:
        raise ModelsError(problems + more)
    return entry


def _worker_entry(name: str, raw: dict[Any, Any]) -> tuple[ModelEntry, list[str]]:
    worker, parameters = raw.get("worker"), raw.get("parameters", {})
    problems = _parameter_problems(parameters)
    if not (isinstance(worker, str) and WORKER_NAME.fullmatch(worker)):
        problems.append(f"worker={quote(str(worker))}: a worker's name (letters, digits, '_')")
    if problems:
        return ModelEntry(name=name), problems
    return ModelEntry(name=name, worker=str(worker), parameters=dict(parameters)), []


def _repository_entry(name: str, raw: dict[Any, Any]) -> tuple[ModelEntry, list[str]]:
    uri, platform = raw.get("uri"), raw.get("platform")
    framework, memory = raw.get("framework", "amdinfer"), str(raw.get("memory", "1Gi"))
    inputs, problems = _tensors(raw.get("inputs"), "inputs")
    outputs, output_problems = _tensors(raw.get("outputs"), "outputs")
    problems += output_problems
    if problem := _uri_problem(uri):
        problems.append(problem)
    if not (isinstance(platform, str) and PLATFORM.fullmatch(platform)):
        problems.append(
            f"platform={quote(str(platform))}: the repository platform"
            " (e.g. amdinfer_cpp, vitis_xmodel)"
        )
    if not (isinstance(framework, str) and PLATFORM.fullmatch(framework)):
        problems.append(f"framework={quote(str(framework))}: a KServe framework name")
    if not QUANTITY.fullmatch(memory):
        problems.append(f"memory={quote(memory)}: a Kubernetes quantity (e.g. 1Gi)")
    entry = ModelEntry(
        name=name,
        uri=str(uri),
        platform=str(platform),
        inputs=inputs,
        outputs=outputs,
        framework=str(framework),
        memory=memory,
    )
    return entry, problems


def _uri_problem(uri: Any) -> str | None:
    if not isinstance(uri, str):
        return f"uri={quote(str(uri))}: the model file's http(s), gs, s3 URI or path"
    # Statuses and logs show the URI: never the credentials in it (as for model-uri).
    shown = quote(validation.without_credentials(uri))
    if validation.has_credentials(uri):
        return f"uri={shown}: {validation.CREDENTIALS_PROBLEM}"
    file_name = uri.rstrip("/").rsplit("/", 1)[-1]
    if not (MODEL_URI.fullmatch(uri) and FILE_NAME.fullmatch(file_name)):
        return f"uri={shown}: the model file's http(s), gs, s3 URI or path"
    return None


def _parameter_problems(parameters: Any) -> list[str]:
    if not isinstance(parameters, dict):
        return ["parameters: a flat mapping of names to strings, numbers or booleans"]
    problems: list[str] = []
    for key, value in parameters.items():
        if not (isinstance(key, str) and PARAMETER_NAME.fullmatch(key)):
            problems.append(f"parameters: {quote(str(key))} is not a parameter name")
        elif not _is_parameter(value):
            problems.append(
                f"parameters.{key}: a string (at most 1024), a 64-bit integer, a finite number"
                " or a boolean"
            )
    return problems


def _is_parameter(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= 1024
    if isinstance(value, int) and not isinstance(value, bool):
        return MIN_PARAMETER_INT <= value <= MAX_PARAMETER_INT
    return isinstance(value, bool) or (isinstance(value, float) and math.isfinite(value))


def _tensors(raw: Any, what: str) -> tuple[tuple[Tensor, ...], list[str]]:
    if not isinstance(raw, list) or not raw or len(raw) > 64:
        return (), [f"{what}: a list of 1 to 64 tensors (name, datatype, shape)"]
    tensors: list[Tensor] = []
    problems: list[str] = []
    for index, tensor in enumerate(raw):
        name = tensor.get("name") if isinstance(tensor, dict) else None
        datatype = tensor.get("datatype") if isinstance(tensor, dict) else None
        shape = tensor.get("shape") if isinstance(tensor, dict) else None
        if not (isinstance(name, str) and TENSOR_NAME.fullmatch(name)):
            problems.append(f"{what}[{index}].name={quote(str(name))}: letters, digits, '_.:-'")
        if datatype not in DATATYPES:
            problems.append(
                f"{what}[{index}].datatype={quote(str(datatype))}: one of {', '.join(DATATYPES)}"
            )
        if not (
            isinstance(shape, list)
            and shape
            and len(shape) <= 8
            and all(_is_dimension(d) for d in shape)
        ):
            problems.append(
                f"{what}[{index}].shape: a list of 1 to 8 dimensions (integers, -1 for any)"
            )
        if not problems:
            tensors.append(Tensor(str(name), str(datatype), tuple(int(d) for d in shape)))  # type: ignore[union-attr]
    return tuple(tensors), problems


def _is_dimension(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -1 <= value <= MAX_DIMENSION


def config_toml(entry: ModelEntry) -> str:
    """The repository's `config.toml` of a model (every value already validated)."""
    lines = [f'name = "{entry.name}"', f'platform = "{entry.platform}"']
    for section, tensors in (("inputs", entry.inputs), ("outputs", entry.outputs)):
        for tensor in tensors:
            shape = ", ".join(str(d) for d in tensor.shape)
            lines += ["", f"[[{section}]]", f'name = "{tensor.name}"']
            lines += [f'datatype = "{tensor.datatype}"', f"shape = [{shape}]"]
    return "\n".join(lines) + "\n"
