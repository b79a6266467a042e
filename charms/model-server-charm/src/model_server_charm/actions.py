"""The `predict` and `smoke-test` actions, apart from Juju's event plumbing.

Both return the action's results as a dict or raise `ActionFailedError` with a
message the operator can act on. Keeping them free of `ops` events lets the
workload tests run them against a real server. Where a request goes and what
it carries is the server family's to say (`ServerFamily.request`).
"""

from __future__ import annotations

import math
from dataclasses import InitVar, dataclass, field
from typing import Any

from model_server_charm import bounded
from model_server_charm.config import CharmConfig
from model_server_charm.families.base import ServerFamily
from model_server_charm.runtimes import Example, Protocol, Runtime
from model_server_charm.server_client import (
    ModelServerClient,
    ServerAnswer,
    ServerUnreachableError,
)

# Juju carries action parameters through its API; anything larger belongs in a
# real client, not an operator's action. Answers parsed by `smoke-test` are
# held to the same bounds.
MAX_PAYLOAD_BYTES = 1024 * 1024
ACTION_JSON = bounded.JSONLimits(max_bytes=MAX_PAYLOAD_BYTES)
# How close a float in the answer must be to the documented example answer.
EXAMPLE_TOLERANCE = 0.05
# What each protocol's request must carry (the server's own checks come after).
REQUIRED_KEYS: dict[Protocol, tuple[frozenset[str], str]] = {
    "v1": (frozenset({"instances", "inputs"}), 'a v1 payload needs "instances" (or "inputs")'),
    "v2": (frozenset({"inputs"}), 'a v2 payload needs an "inputs" list (open inference protocol)'),
    "openai": (
        frozenset({"prompt", "messages"}),
        'an openai payload needs "prompt" (completions) or "messages" (chat completions)',
    ),
}


class ActionFailedError(ValueError):
    """The action cannot succeed; the message says why.

    A ValueError, so that `ops.ActionEvent.load_params` lets it through from
    `PredictParams` with its message intact.
    """


@dataclass(frozen=True)
class PredictParams:
    """The `predict` action's parameters, checked before anything is sent."""

    runtime: InitVar[Runtime]
    payload: str
    protocol: Protocol = "v1"
    document: dict[str, Any] = field(init=False, default_factory=dict[str, Any])

    def __post_init__(self, runtime: Runtime) -> None:
        if self.protocol not in runtime.protocols:
            raise ActionFailedError(
                f"protocol {self.protocol!r} is not served by {runtime.display_name};"
                f" use one of {', '.join(runtime.protocols)}"
            )
        try:
            document = bounded.parse_json(self.payload, ACTION_JSON, "payload")
        except bounded.JSONInputError as error:
            raise ActionFailedError(str(error)) from error
        if not isinstance(document, dict):
            raise ActionFailedError("payload must be a JSON object")
        keys, problem = REQUIRED_KEYS[self.protocol]
        if not keys & document.keys() or (
            self.protocol == "v2" and not isinstance(document.get("inputs"), list)
        ):
            raise ActionFailedError(problem)
        object.__setattr__(self, "document", document)


def _send(client: ModelServerClient, path: str, body: bytes) -> ServerAnswer:
    try:
        return client.post(path, body)
    except ServerUnreachableError as error:
        raise ActionFailedError(f"the model server did not answer: {error}") from error


def _answer_results(answer: ServerAnswer) -> dict[str, Any]:
    return {
        "status-code": answer.status,
        "latency-ms": round(answer.latency_ms, 1),
        "response": bounded.shorten(answer.body, bounded.ACTION_RESULT_BYTES),
    }


def _quoted(answer: ServerAnswer) -> str:
    """The server's answer as a failure message quotes it."""
    return bounded.shorten(answer.body, bounded.QUOTED_ANSWER_BYTES)


def predict(
    client: ModelServerClient, family: ServerFamily, config: CharmConfig, params: PredictParams
) -> dict[str, Any]:
    """Send the operator's payload and return the server's answer."""
    path, body = family.request(config, params.protocol, params.document)
    answer = _send(client, path, body)
    if not answer.ok:
        raise ActionFailedError(f"the model server answered {answer.status}: {_quoted(answer)}")
    return _answer_results(answer)


def smoke_test(
    client: ModelServerClient, family: ServerFamily, config: CharmConfig
) -> dict[str, Any]:
    """Send the runtime's upstream example for these options and judge the answer.

    With the upstream example model the answer must match the documented one;
    with any other model the example input may not even fit, so a well-formed
    200 answer is what can be checked. A runtime without a public example is
    checked by the model's readiness and metadata.
    """
    example = family.runtime.example_for(config.value)
    if example is None:
        return _check_metadata(client, family, config)
    path, body = family.request(config, example.protocol, example.request)
    answer = _send(client, path, body)
    results = _answer_results(answer)
    if not answer.ok:
        raise ActionFailedError(
            f"smoke test failed: the model server answered {answer.status}: {_quoted(answer)}"
        )
    try:
        document = bounded.parse_json(answer.body, ACTION_JSON, "the answer")
    except bounded.JSONInputError as error:
        raise ActionFailedError(f"smoke test failed: {error}: {_quoted(answer)}") from error
    if example.expected is not None and family.serves(config, example):
        if not matches_expected(judged(document, example), example.expected):
            raise ActionFailedError(
                f"smoke test failed: expected {example.expected} ({example.judge}),"
                f" got {_quoted(answer)}"
            )
        results["result"] = "passed: the example model gave the documented answer"
    else:
        problem = well_formed_problem(document, example.protocol)
        if problem:
            raise ActionFailedError(f"smoke test failed: {problem}: {_quoted(answer)}")
        results["result"] = "passed: well-formed answer (no documented answer to compare)"
    return results


def _check_metadata(
    client: ModelServerClient, family: ServerFamily, config: CharmConfig
) -> dict[str, Any]:
    """The smoke test of a runtime without a public example: ready, and described."""
    path = family.metadata_path(config)
    try:
        ready = client.answers(family.ready_path(config))
        answer = client.get(path)
    except ServerUnreachableError as error:
        raise ActionFailedError(f"the model server did not answer: {error}") from error
    if not (ready and answer.ok):
        raise ActionFailedError(
            f"smoke test failed: the model is not ready ({path} answered {answer.status}:"
            f" {_quoted(answer)})"
        )
    results = _answer_results(answer)
    results["result"] = (
        "passed: the model is ready and describes itself (no public example to send;"
        " send a request with the predict action)"
    )
    return results


def judged(document: Any, example: Example) -> Any:
    """The part of an answer the example's judge compares (argmax: each row's best class)."""
    if example.judge != "argmax" or not isinstance(document, dict):
        return document
    rows = document.get("predictions")
    if not isinstance(rows, list):
        return document
    best = [max(range(len(row)), key=row.__getitem__) if _is_scores(row) else row for row in rows]
    return {**document, "predictions": best}


def _is_scores(row: Any) -> bool:
    return (
        isinstance(row, list)
        and bool(row)
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in row)
    )


def matches_expected(actual: Any, expected: Any) -> bool:
    """Compare an answer with the documented one: same structure, floats within tolerance."""
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() <= actual.keys()
            and all(matches_expected(actual[key], value) for key, value in expected.items())
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(matches_expected(a, e) for a, e in zip(actual, expected, strict=True))
        )
    if isinstance(expected, (bool, str)) or expected is None:
        return actual == expected
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(actual, expected, abs_tol=EXAMPLE_TOLERANCE)
    return False


def well_formed_problem(document: Any, protocol: Protocol) -> str | None:
    """What is wrong with an inference answer's shape, or None when it is well formed."""
    if not isinstance(document, dict):
        return "the answer is not a JSON object"
    if protocol == "v1" and not isinstance(document.get("predictions"), list):
        return 'a v1 answer needs a "predictions" list'
    if protocol == "v2" and not isinstance(document.get("outputs"), list):
        return 'a v2 answer needs an "outputs" list'
    if protocol == "openai" and not isinstance(document.get("choices"), list):
        return 'an openai answer needs a "choices" list'
    return None
