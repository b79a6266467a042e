"""Model repository entries: `<repo>/<model>/config.toml` (or `.pbtxt`) and `<version>/<file>`.

As amdinfer v0.4.0 reads them (src/amdinfer/core/model_repository.cpp and
model_config.cpp): the first `*.toml`, else `*.pbtxt`, in the model's directory
or in `<model>/<model>/` (KServe sometimes nests it so); the endpoint is the
config's `name` (`<name>_<version>` for an explicit version); the model file is
the one file in `<version>/` (version 1 by default) beside the config; the
platform names the worker.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amdinfer.errors import ConfigParseError, RequestError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli wherever Python has no tomllib
    import tomli as tomllib  # pyright: ignore[reportMissingImports]

CONFIG_SUFFIXES = (".toml", ".pbtxt")
DEFAULT_VERSION = "1"
# platform -> worker, as ModelConfig::createModels maps them.
PLATFORM_WORKERS = {
    "tensorflow_graphdef": "tfzendnn",
    "pytorch_torchscript": "ptzendnn",
    "onnx_onnxv1": "migraphx",
    "migraphx_mxr": "migraphx",
    "vitis_xmodel": "xmodel",
    "amdinfer_cpp": "cplusplus",
}
# Protobuf text format: strings, scalars and punctuation, between blanks and `#` comments.
PBTXT_SKIP = re.compile(r"(?:\s|#[^\n]*)*")
PBTXT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\w.+-]+|[{}\[\]:,]')
PBTXT_FIELDS = {"name", "platform", "inputs", "outputs", "parameters", "datatype", "shape"}


@dataclass(frozen=True)
class ModelEntry:
    """What loading one repository entry hands to the endpoints."""

    endpoint: str
    parameters: dict[str, Any]


def find_config(model_dir: Path) -> Path | None:
    """The configuration file amdinfer would read for this model directory, if any."""
    for suffix in CONFIG_SUFFIXES:
        for directory in (model_dir, model_dir / model_dir.name):
            if directory.is_dir():
                found = [p for p in directory.iterdir() if p.suffix == suffix and p.is_file()]
                if found:
                    return sorted(found)[0]
    return None


def _string(table: dict[str, Any], key: str, required: bool = True) -> str:
    if key not in table:
        if required:
            raise RequestError(f"The configuration must have a {key}")
        return ""
    if not isinstance(table[key], str):
        raise RequestError(f"{key} must be a string")
    return table[key]


def _array(table: dict[str, Any], key: str, toml: bool) -> list[Any]:
    """toml++'s array checks: present, an array, and (TOML) of one type, so never empty."""
    if key not in table:
        raise RequestError(f"The configuration must have a {key}")
    array = table[key]
    if not isinstance(array, list):
        raise RequestError(f"{key} must be an array")
    if toml and len({type(element) for element in array}) != 1:
        raise RequestError(f"{key} must be a homogenous array")
    return array


def _tensors(table: dict[str, Any], key: str, toml: bool) -> list[dict[str, Any]]:
    tensors: list[dict[str, Any]] = []
    for element in _array(table, key, toml):
        if not isinstance(element, dict):
            raise RequestError("One or more values could not be converted to a table")
        _string(element, "name")
        _string(element, "datatype")
        shape = _array(element, "shape", toml)
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in shape):
            raise RequestError("One or more values could not be converted to integer in shape")
        tensors.append(element)
    return tensors


def _pbtxt_message(tokens: list[str], position: int, path: Path) -> tuple[dict[str, Any], int]:
    """Parse fields until `}` or the end; repeated fields become lists."""
    fields: dict[str, Any] = {}
    while position < len(tokens) and tokens[position] != "}":
        name = tokens[position]
        if name not in PBTXT_FIELDS:
            raise RequestError(f"Config file {path} could not be parsed")
        position += 1
        if tokens[position : position + 1] == [":"]:
            position += 1
        value: Any
        if tokens[position : position + 1] == ["{"]:
            value, position = _pbtxt_message(tokens, position + 1, path)
            position += 1
        elif tokens[position : position + 1] == ["["]:
            end = tokens.index("]", position)
            value = [_pbtxt_scalar(t) for t in tokens[position + 1 : end] if t != ","]
            position = end + 1
        else:
            value = _pbtxt_scalar(tokens[position])
            position += 1
        if name in ("inputs", "outputs", "shape"):
            fields.setdefault(name, []).extend(value if isinstance(value, list) else [value])
        else:
            fields[name] = value
    return fields, position


def _pbtxt_skip(text: str, position: int) -> int:
    blank = PBTXT_SKIP.match(text, position)
    return blank.end() if blank else position


def _pbtxt_tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = _pbtxt_skip(text, 0)
    while position < len(text):
        match = PBTXT_TOKEN.match(text, position)
        if match is None:
            raise ValueError(f"unexpected text at {position}")
        tokens.append(match.group())
        position = _pbtxt_skip(text, match.end())
    return tokens


def _pbtxt_scalar(token: str) -> Any:
    if token.startswith('"'):
        return token[1:-1].encode().decode("unicode_escape")
    return int(token) if re.fullmatch(r"[+-]?\d+", token) else token


def _read(path: Path) -> dict[str, Any]:
    text = path.read_text()
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ConfigParseError(str(error)) from error
    try:
        tokens = _pbtxt_tokens(text)
        fields, position = _pbtxt_message(tokens, 0, path)
    except (IndexError, ValueError):
        raise RequestError(f"Config file {path} could not be parsed") from None
    if position != len(tokens):
        raise RequestError(f"Config file {path} could not be parsed")
    return fields


def read_entry(repository: Path, model: str, version: str = "") -> ModelEntry:
    """Parse `<repository>/<model>` as amdinfer's parseModel does; RequestError says why not."""
    model_dir = repository / model
    config_path = find_config(model_dir)
    if config_path is None:
        raise RequestError(f"No configuration file could be loaded in {model_dir}")
    table = _read(config_path)
    if not table:
        raise RequestError("The configuration cannot be empty")
    if "models" in table:
        raise RequestError("ensembles (a `models` array) are not emulated by the stand-in")
    name = _string(table, "name")
    platform = _string(table, "platform")
    toml = config_path.suffix == ".toml"
    _tensors(table, "inputs", toml)
    _tensors(table, "outputs", toml)
    if platform not in PLATFORM_WORKERS:
        raise RequestError(f"Unknown platform: {platform}")
    version_dir = config_path.parent / (version or DEFAULT_VERSION)
    files = sorted(version_dir.iterdir()) if version_dir.is_dir() else []
    if not files:
        raise RequestError(f"No model file found in {version_dir}")
    return ModelEntry(
        endpoint=f"{name}_{version}" if version else name,
        parameters={"worker": PLATFORM_WORKERS[platform], "model": str(files[0])},
    )
