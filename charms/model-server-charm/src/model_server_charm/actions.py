"""The `predict` and `smoke-test` actions, apart from Juju's event plumbing.

Both return the action's results as a dict or raise `ActionFailedError` with a
message the operator can act on. Keeping them free of `ops` events lets the
workload tests run them against a real server. Where a request goes and what
it carries is the server family's to say (`ServerFamily.request`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import InitVar, dataclass, field
from typing import Any

import ops

from model_server_charm import bounded
from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig, ConfigError
from model_server_charm.families.base import ServerFamily
from model_server_charm.runtimes import Judge, Protocol, Runtime
from model_server_charm.server_client import (
    ModelServerClient,
    RequestRefusedError,
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
# A model or worker endpoint name as a URL path segment (amdinfer lower-cases them).
MODEL_PARAMETER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
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
    # Juju fills in the action's default (the runtime's first protocol); so does `sent`.
    protocol: Protocol | None = None
    # The model to send it to, where the server serves several (empty: the configured one).
    model: str = ""
    document: dict[str, Any] = field(init=False, default_factory=dict[str, Any])
    sent: Protocol = field(init=False, default="v2")

    def __post_init__(self, runtime: Runtime) -> None:
        if self.model and not MODEL_PARAMETER.fullmatch(self.model):
            raise ActionFailedError(f"model={quote(self.model)}: not a model or endpoint name")
        protocol = self.protocol or runtime.protocols[0]
        object.__setattr__(self, "sent", protocol)
        if protocol not in runtime.protocols:
            raise ActionFailedError(
                f"protocol {protocol!r} is not served by {runtime.display_name};"
                f" use one of {', '.join(runtime.protocols)}"
            )
        try:
            document = bounded.parse_json(self.payload, ACTION_JSON, "payload")
        except bounded.JSONInputError as error:
            raise ActionFailedError(str(error)) from error
        if not isinstance(document, dict):
            raise ActionFailedError("payload must be a JSON object")
        keys, problem = REQUIRED_KEYS[protocol]
        if not keys & document.keys() or (
            protocol == "v2" and not isinstance(document.get("inputs"), list)
        ):
            raise ActionFailedError(problem)
        object.__setattr__(self, "document", document)


def _answer_results(answer: ServerAnswer) -> dict[str, Any]:
    return {
        "status-code": answer.status,
        "latency-ms": round(answer.latency_ms, 1),
        "response": bounded.shorten(answer.body, bounded.ACTION_RESULT_BYTES),
    }


def _quoted(answer: ServerAnswer) -> str:
    """The server's answer as a failure message quotes it (an empty one said so)."""
    if not answer.body.strip():
        return "an empty body (the reason, if any, is in the server's log)"
    return bounded.shorten(answer.body, bounded.QUOTED_ANSWER_BYTES)


def predict(
    client: ModelServerClient, family: ServerFamily, config: CharmConfig, params: PredictParams
) -> dict[str, Any]:
    """Send the operator's payload and return the server's answer."""
    try:
        answer = family.infer(client, config, params.sent, params.document, params.model)
    except RequestRefusedError as error:
        raise ActionFailedError(f"not sent: {error}") from error
    except ServerUnreachableError as error:
        raise ActionFailedError(f"the model server did not answer: {error}") from error
    if not answer.ok:
        raise ActionFailedError(f"the model server answered {answer.status}: {_quoted(answer)}")
    return _answer_results(answer)


def smoke_test(
    client: ModelServerClient, family: ServerFamily, config: CharmConfig
) -> dict[str, Any]:
    """Send the runtime's example for these options (`ServerFamily.smoke`) and judge the answer.

    With the example's model the answer must match the documented one; with
    any other model the example input may not even fit, so a well-formed 200
    answer is what can be checked. A runtime without a public example is
    checked by the model's readiness and metadata.
    """
    try:
        smoke = family.smoke(client, config)
    except (RequestRefusedError, ServerUnreachableError) as error:
        raise ActionFailedError(f"smoke test failed: {error}") from error
    answer = smoke.answer
    results = _answer_results(answer)
    if not answer.ok and smoke.kind == "described":
        raise ActionFailedError(f"smoke test failed: the model is not ready: {_quoted(answer)}")
    if not answer.ok:
        raise ActionFailedError(
            f"smoke test failed: the model server answered {answer.status}: {_quoted(answer)}"
        )
    if smoke.kind == "described":
        results["result"] = (
            "passed: the model is ready and describes itself (no public example to send;"
            " send a request with the predict action)"
        )
        return results
    try:
        document = bounded.parse_json(answer.body, ACTION_JSON, "the answer")
    except bounded.JSONInputError as error:
        raise ActionFailedError(f"smoke test failed: {error}: {_quoted(answer)}") from error
    if smoke.kind == "documented":
        if not matches_expected(judged(document, smoke.judge), smoke.expected):
            raise ActionFailedError(
                f"smoke test failed: expected {smoke.expected} ({smoke.judge}),"
                f" got {_quoted(answer)}"
            )
        results["result"] = "passed: the example model gave the documented answer"
    else:
        problem = well_formed_problem(document, smoke.protocol)
        if problem:
            raise ActionFailedError(f"smoke test failed: {problem}: {_quoted(answer)}")
        results["result"] = "passed: well-formed answer (no documented answer to compare)"
    return results


def judged(document: Any, judge: Judge) -> Any:
    """The part of an answer a judge compares (argmax: each row's best class)."""
    if judge != "argmax" or not isinstance(document, dict):
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


class ActionHandlers(ops.Object):
    """Runs the charm's actions — predict, smoke-test and its family's own — with bounded output.

    `config` gives the validated configuration (or why it is invalid) and
    `client` the server to talk to; any ActionFailedError becomes the action's
    failure message, cut to what Juju can carry.
    """

    def __init__(
        self,
        charm: ops.CharmBase,
        family: ServerFamily,
        config: Callable[[], CharmConfig | ConfigError],
        client: Callable[[CharmConfig], ModelServerClient],
    ):
        super().__init__(charm, "actions")
        self._charm = charm
        self._family = family
        self._config = config
        self._client = client
        charm.framework.observe(charm.on.predict_action, self._on_predict)
        charm.framework.observe(charm.on.smoke_test_action, self._on_smoke_test)
        for name in self._family.extra_actions():
            event: ops.BoundEvent = getattr(charm.on, name.replace("-", "_") + "_action")
            charm.framework.observe(event, self._on_family_action)

    def _configured(self) -> CharmConfig:
        config = self._config()
        if isinstance(config, ConfigError):
            raise ActionFailedError(f"the configuration is invalid: {config}")
        return config

    def _run(
        self, event: ops.ActionEvent, action: Callable[[CharmConfig], dict[str, Any]]
    ) -> None:
        try:
            results = action(self._configured())
        except ActionFailedError as error:
            event.fail(bounded.shorten(str(error), bounded.ACTION_MESSAGE_BYTES))
            return
        event.set_results(results)

    def _on_predict(self, event: ops.ActionEvent) -> None:
        def run(config: CharmConfig) -> dict[str, Any]:
            params = event.load_params(PredictParams, runtime=self._family.runtime)
            return predict(self._client(config), self._family, config, params)

        self._run(event, run)

    def _on_smoke_test(self, event: ops.ActionEvent) -> None:
        self._run(event, lambda config: smoke_test(self._client(config), self._family, config))

    def _on_family_action(self, event: ops.ActionEvent) -> None:
        handler = self._family.extra_actions()[
            event.handle.kind.removesuffix("_action").replace("_", "-")
        ]

        def run(config: CharmConfig) -> dict[str, Any]:
            try:
                return handler(self._client(config), config, event.params)
            except (RequestRefusedError, ServerUnreachableError) as error:
                raise ActionFailedError(str(error)) from error

        self._run(event, run)
