"""Requests to the AMD Inference Server, checked first: it crashes on some of them.

amdinfer-server v0.4.0 segfaults on an infer request without a JSON content
type, with an empty body or with invalid JSON (NaN and Infinity included),
aborts on an input count its model does not have, answers a 500 with an
empty body for an unknown model or a worker that failed to load, and reads
data of another type than its input's as raw bits (DESIGN.md §4). Every
request the charm sends goes through here: always a JSON body (strict: no
NaN, no Infinity) with its content type, to a model that is ready, with
exactly the inputs the model declares (its entry in `models`), or else one
input of the datatype the server's metadata gives, each element within its
datatype's range. Every answer that is not 2xx is a failure, and an empty one
says where the reason is: the server's log.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Mapping, Sequence
from typing import Any

from model_server_charm import bounded
from model_server_charm.families.amdinfer.models import DATATYPES, ModelEntry, Tensor
from model_server_charm.layer import WORKLOAD_CONTAINER
from model_server_charm.server_client import ModelServerClient, RequestRefusedError, ServerAnswer

# The echo model of the rock's cplusplus worker: 3 in, 4 out (DESIGN.md §4).
ECHO_WORKER = "cplusplus"
ECHO_PARAMETERS = {"model": "echo"}
ECHO_REQUEST = {"inputs": [{"name": "echo", "shape": [1], "datatype": "UINT32", "data": [3]}]}
ECHO_EXPECTED = {"outputs": [{"data": [4]}]}
# An endpoint name as the worker API returns it (lower-cased worker name, -0, -1…).
ENDPOINT = re.compile(r"[a-z0-9][a-z0-9_-]{0,126}")
METADATA = bounded.JSONLimits(max_bytes=64 * 1024)
MAX_ELEMENTS = 1 << 24
# The range of each integer datatype, and the largest magnitude of each float one.
INTEGER_RANGES = {
    "UINT8": (0, 2**8 - 1), "UINT16": (0, 2**16 - 1),
    "UINT32": (0, 2**32 - 1), "UINT64": (0, 2**64 - 1),
    "INT8": (-(2**7), 2**7 - 1), "INT16": (-(2**15), 2**15 - 1),
    "INT32": (-(2**31), 2**31 - 1), "INT64": (-(2**63), 2**63 - 1),
}  # fmt: skip
FLOAT_MAXIMA = {"FP16": 65504.0, "FP32": 3.4028234663852886e38, "FP64": sys.float_info.max}
# Where the server says why it refused with an empty body.
SERVER_LOG = f"juju ssh --container {WORKLOAD_CONTAINER} <unit> /charm/bin/pebble logs"


def post(
    client: ModelServerClient, path: str, document: Mapping[str, Any] | None = None
) -> ServerAnswer:
    """POST `document` (an empty object when None) as strict JSON: never empty, never NaN.

    The only body the server does not crash on; the client sends it as application/json.
    """
    try:
        body = json.dumps(dict(document or {}), allow_nan=False).encode()
    except ValueError as error:
        raise RequestRefusedError(f"not valid JSON: {error}") from error
    return client.post(path, body)


def accepted(answer: ServerAnswer, what: str) -> ServerAnswer:
    """The answer when it is 2xx; else RequestRefusedError saying what the server said."""
    if answer.ok:
        return answer
    if not answer.body.strip():
        raise RequestRefusedError(
            f"{what} answered {answer.status} with an empty body: the reason is in the"
            f" server's log ({SERVER_LOG})"
        )
    quoted = bounded.shorten(answer.body, bounded.QUOTED_ANSWER_BYTES)
    raise RequestRefusedError(f"{what} answered {answer.status}: {quoted}")


def load_worker(client: ModelServerClient, worker: str, parameters: Mapping[str, Any]) -> str:
    """Load a worker with flat parameters; its endpoint's name. Raises RequestRefusedError."""
    what = f"loading worker {worker}"
    answer = accepted(post(client, f"/v2/workers/{worker}/load", parameters), what)
    endpoint = answer.body.strip()
    if not ENDPOINT.fullmatch(endpoint):
        quoted = bounded.quote(answer.body, bounded.QUOTED_ANSWER_BYTES)
        raise RequestRefusedError(f"{what} answered no endpoint name: {quoted}")
    return endpoint


def echo(client: ModelServerClient) -> ServerAnswer:
    """Load the echo model, send it 3, give the worker back (its load is counted): the answer."""
    endpoint = load_worker(client, ECHO_WORKER, ECHO_PARAMETERS)
    answer = post(client, f"/v2/models/{endpoint}/infer", ECHO_REQUEST)
    post(client, f"/v2/workers/{endpoint}/unload")
    return answer


def infer(
    client: ModelServerClient,
    entries: Sequence[ModelEntry],
    document: Mapping[str, Any],
    model: str,
) -> ServerAnswer:
    """Send an inference request to `model` once it is sure not to crash the server."""
    name = model or _only_model(entries)
    if not client.answers(f"/v2/models/{name}/ready"):
        raise RequestRefusedError(f"{name} is not a ready model (list-models lists them)")
    declared = next((e.inputs for e in entries if e.name == name and not e.is_worker), None)
    expected = declared if declared is not None else _metadata_input(client, name)
    problem = request_problem(document, expected)
    if problem:
        raise RequestRefusedError(problem)
    return post(client, f"/v2/models/{name}/infer", document)


def _only_model(entries: Sequence[ModelEntry]) -> str:
    if len(entries) != 1:
        raise RequestRefusedError(
            "name the model (the model parameter): the server serves several"
        )
    return entries[0].name


def _metadata_input(client: ModelServerClient, name: str) -> tuple[Tensor, ...]:
    """One input of the metadata's datatype (its tensor lists are not to be trusted further).

    amdinfer's metadata lists a model's output tensors among its inputs, so only
    the first tensor's datatype is used, and one input is what is sent.
    """
    answer = client.get(f"/v2/models/{name}")
    try:
        metadata = bounded.parse_json(answer.body, METADATA, "the model's metadata")
    except bounded.JSONInputError as error:
        raise RequestRefusedError(str(error)) from error
    tensors = metadata.get("inputs") if isinstance(metadata, dict) else None
    first = tensors[0] if isinstance(tensors, list) and tensors else None
    datatype = first.get("datatype") if isinstance(first, dict) else None
    if not answer.ok or datatype not in DATATYPES:
        raise RequestRefusedError(f"the metadata of {name} names no input datatype")
    return (Tensor(name="", datatype=str(datatype), shape=()),)


def request_problem(document: Mapping[str, Any], expected: Sequence[Tensor]) -> str | None:
    """Why the request would crash or mislead the server, or None when it may be sent."""
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or len(inputs) != len(expected):
        return f'the model takes {len(expected)} input(s): send exactly that many in "inputs"'
    for index, (given, wanted) in enumerate(zip(inputs, expected, strict=True)):
        problem = _input_problem(given, wanted)
        if problem:
            return f"inputs[{index}]: {problem}"
    return None


def _input_problem(given: Any, wanted: Tensor) -> str | None:
    if not isinstance(given, dict):
        return "an object with name, shape, datatype and data"
    if wanted.name and given.get("name") != wanted.name:
        return f"the model's input is named {wanted.name!r}"
    if given.get("datatype") != wanted.datatype:
        return f"datatype must be {wanted.datatype} (other data would be read as raw bits)"
    shape, data = given.get("shape"), given.get("data")
    if not (isinstance(shape, list) and all(_is_size(d) for d in shape)):
        return "shape is a list of sizes"
    if not isinstance(data, list) or len(data) != math.prod(shape) or len(data) > MAX_ELEMENTS:
        return "data is a flat list of as many elements as the shape says"
    if not all(_fits(value, wanted.datatype) for value in data):
        return f"every element must be {_element_rule(wanted.datatype)}"
    return None


def _is_size(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_ELEMENTS


def _fits(value: Any, datatype: str) -> bool:
    if datatype == "BOOL":
        return isinstance(value, bool)
    if isinstance(value, bool):  # JSON's true is no number
        return False
    if datatype in INTEGER_RANGES:
        low, high = INTEGER_RANGES[datatype]
        return isinstance(value, int) and low <= value <= high
    if datatype in FLOAT_MAXIMA:
        return isinstance(value, (int, float)) and abs(value) <= FLOAT_MAXIMA[datatype]
    return isinstance(value, str)


def _element_rule(datatype: str) -> str:
    if datatype in INTEGER_RANGES:
        low, high = INTEGER_RANGES[datatype]
        return f"a {datatype} integer, from {low} to {high}"
    if datatype in FLOAT_MAXIMA:
        return f"a finite {datatype} number, at most {FLOAT_MAXIMA[datatype]:g} in magnitude"
    return {"BOOL": "a BOOL (true or false)"}.get(datatype, f"a {datatype} string")


def list_models(client: ModelServerClient) -> dict[str, Any]:
    """The action list-models: what the server serves now."""
    answer = accepted(client.get("/v2/models"), "listing models")
    return {"status-code": answer.status, "models": bounded.shorten(answer.body, 8 * 1024)}


def repository_action(client: ModelServerClient, name: str, action: str) -> dict[str, Any]:
    """The actions load-model and unload-model: a repository entry, through the repository API."""
    path = f"/v2/repository/models/{name}/{action}"
    answer = accepted(post(client, path), f"{action} {name}")
    return {"status-code": answer.status, "result": f"{name}: {action}ed"}
