"""The `echo` model run by the `cplusplus` worker: one UINT32 in, that value plus one out.

Request handling follows amdinfer v0.4.0's REST request builder
(src/amdinfer/servers/http_server.cpp) and the echo model
(src/amdinfer/models/echo.cpp):

- each element of `data` is converted with jsoncpp's rules for the request's
  `datatype` (range-checked, reals truncated toward zero) and written into the
  input buffer as that type; the model then reads the buffer's first four bytes
  as a UINT32 — so FP32 `3.0` is read as its raw bits, 1077936128. The real
  buffer holds the tensor's shape of that datatype: bytes the request did not
  write (a shape smaller than four bytes, fewer data than the shape) are left
  from earlier requests, where the stand-in reads zeros;
- two input tensors abort the server; none is a 400 ("Input size is zero");
- the answer names the first requested output (a Release build checks no
  count), else the model's unnamed tensor.

The metadata is the worker's, serialised as amdinfer does it: its name and
platform are the worker's (`CPlusPlus`, `CPU`), and a bug in modelMetadataToJson
lists the output tensors under `inputs`, leaving `outputs` empty.
"""

from __future__ import annotations

import math
import signal
import struct
from typing import Any

from amdinfer.errors import EscapedError, FatalInputError, RequestError

INPUT_VALUE_BYTES = 4
UINT32_RANGE = 2**32
# datatype -> (struct format, kind of jsoncpp conversion)
DATATYPES = {
    "BOOL": ("?", "bool"),
    "UINT8": ("B", "uint32"),
    "UINT16": ("H", "uint32"),
    "UINT32": ("I", "uint32"),
    "UINT64": ("Q", "uint64"),
    "INT8": ("b", "int32"),
    "INT16": ("h", "int32"),
    "INT32": ("i", "int32"),
    "INT64": ("q", "int64"),
    "FP16": ("e", "float"),
    "FP32": ("f", "float"),
    "FP64": ("d", "float"),
    "STRING": ("s", "string"),
    "BYTES": ("s", "string"),
}
INTEGER_RANGES = {
    "uint32": (0, 2**32 - 1),
    "uint64": (0, 2**64 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}
TENSOR = {"name": "", "datatype": "UINT32", "shape": [1]}
# The workers an echo request goes through, as they name themselves in the log.
CHAIN = ("CPlusPlus", "responder")
CONVERSION_ERROR = "Could not convert some data to the provided data type"


def metadata() -> dict[str, Any]:
    """GET /v2/models/<endpoint>: the worker's metadata, with amdinfer's serialisation bug."""
    return {
        "name": "CPlusPlus",
        "versions": [],
        "platform": "CPU",
        "inputs": [dict(TENSOR), dict(TENSOR)],
        "outputs": [],
    }


def _integer(value: Any, kind: str) -> int:
    low, high = INTEGER_RANGES[kind]
    if value is None:
        return 0
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float) and low <= value <= high:
        return int(value)  # jsoncpp truncates reals toward zero
    raise RequestError(CONVERSION_ERROR)


def _pack(value: Any, datatype: str) -> bytes:
    """One data element as the request builder writes it into the input buffer."""
    code, kind = DATATYPES[datatype]
    if kind == "string":
        if isinstance(value, list | dict):
            raise RequestError(CONVERSION_ERROR)
        text = "" if value is None else str(value).lower() if isinstance(value, bool) else value
        return str(text).encode()
    if kind == "bool":
        if isinstance(value, str | list | dict):
            raise RequestError(CONVERSION_ERROR)
        return struct.pack("<?", bool(value))
    if kind == "float":
        if value is not None and not isinstance(value, bool | int | float):
            raise RequestError(CONVERSION_ERROR)
        number = float(value or 0)
        try:
            return struct.pack(f"<{code}", number)
        except OverflowError:  # C++ narrows an out-of-range value to infinity
            return struct.pack(f"<{code}", math.copysign(math.inf, number))
    size = struct.calcsize(code)
    wrapped = _integer(value, kind) % 2 ** (8 * size)  # static_cast to the narrower type
    return wrapped.to_bytes(size, "little")


def _check_shape(shape: Any) -> None:
    for index in shape if isinstance(shape, list) else []:
        is_number = isinstance(index, int | float) and not isinstance(index, bool)
        if not is_number or index < 0 or index != int(index):
            raise RequestError("'shape' must be specified by uint64 elements")


def _elements(data: Any) -> list[Any]:
    """What jsoncpp iterates: an array's elements, an object's values, else nothing."""
    if isinstance(data, list):
        return data
    if isinstance(data, dict):
        return list(data.values())
    return []


def _input_bytes(tensor: Any) -> bytes:
    """Validate one input tensor as the request builder does; return its buffer."""
    if not isinstance(tensor, dict):
        raise RequestError("At least one element in 'inputs' is not an obj")
    for key in ("name", "shape"):
        if key not in tensor:
            raise RequestError(f"No '{key}' key present in request input")
    _check_shape(tensor["shape"])
    for key in ("datatype", "data"):
        if key not in tensor:
            raise RequestError(f"No '{key}' key present in request input")
    datatype = tensor["datatype"]
    if datatype not in DATATYPES:
        raise RequestError(f"Unknown data type: {datatype}")
    return b"".join(_pack(element, datatype) for element in _elements(tensor["data"]))


def _as_string(value: Any, what: str) -> str:
    """Jsoncpp's asString: scalars as text, null empty; arrays and objects throw."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | dict):
        raise EscapedError(f"{what} is not a string")
    return "" if value is None else str(value)


def _output_name(outputs: Any) -> str:
    """The name the answer's tensor gets: the first requested output's, if any."""
    requested = _elements(outputs)
    if not requested:
        return ""
    if not isinstance(requested[0], dict):
        raise EscapedError("in Json::Value::find(begin, end): requires objectValue or nullValue")
    return _as_string(requested[0].get("name", ""), "name")


def infer(request: Any) -> dict[str, Any]:
    """POST /v2/models/<echo endpoint>/infer with a parsed JSON body: the answer."""
    # The request builder (every tensor), then the batcher, then the worker.
    if not isinstance(request, dict):
        raise RequestError("in Json::Value::find(begin, end): requires objectValue or nullValue")
    identifier = _as_string(request.get("id", ""), "id")
    if "inputs" not in request:
        raise RequestError("No 'inputs' key present in request")
    inputs = request["inputs"]
    if not isinstance(inputs, list):
        raise RequestError("'inputs' is not an array")
    buffers = [_input_bytes(tensor) for tensor in inputs]
    name = _output_name(request.get("outputs"))
    if not buffers:
        raise RequestError("Input size is zero")
    if len(buffers) != 1:
        raise FatalInputError(signal.SIGABRT, f"echo has 1 input, the request {len(inputs)}")
    buffer = buffers[0].ljust(INPUT_VALUE_BYTES, b"\0")
    value = (int.from_bytes(buffer[:INPUT_VALUE_BYTES], "little") + 1) % UINT32_RANGE
    return {
        "id": identifier,
        "model_name": "echo",
        "outputs": [
            {"data": [value], "datatype": "UINT32", "name": name, "parameters": {}, "shape": [1]}
        ],
    }
