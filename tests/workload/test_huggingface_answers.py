"""The Hugging Face server answers as upstream v0.20.0 does, field by field.

Three servers, started as KServe's runtime starts them (`--model_name` and the model;
the classifier and one generative server with KServe's args alone, so `--backend=auto`;
the other generative server with `--backend=huggingface`, the charm's default), each get
the same requests: v1 and v2 inference, OpenAI completions and chat completions, and
requests upstream refuses. Each answer, its HTTP status and its whole JSON body, must be
the one upstream's own server gave, recorded in `models/huggingface_answers.json`. Only
what differs on every request or server is normalized first: `created` (a time), the ids,
replaced by their form (a UUID; `cmpl-`, `chatcmpl-` and 16 hex digits), and the hash in
vLLM's system fingerprint.

The stand-in is held to that record. Run against upstream's server (KSERVE_PYTHON_DIR) with
KSERVE_RECORD_ANSWERS=1 to record it again: the test then writes the file, and fails
unless upstream's server answered; recording from the stand-in is refused.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from bench.servers import KSERVE_PYTHON_DIR_ENV, Command, Endpoint, free_port, running
from tests.workload.kserve_runtime import MACHINE_ENVIRONMENT

pytestmark = [pytest.mark.huggingface, pytest.mark.slow]

ANSWERS = Path(__file__).parent / "models" / "huggingface_answers.json"
RECORD_ENV = "KSERVE_RECORD_ANSWERS"
READY_TIMEOUT_S = 300.0
REQUEST_TIMEOUT_S = 60
# KServe's runtime sets it (kserve-huggingfaceserver.yaml).
RUNTIME_ENVIRONMENT = {"LMCACHE_USE_EXPERIMENTAL": "True"}
# The model builders' module, imported when a server is built: it imports torch, which only
# `tox -e workload-huggingface` installs, and the other environments collect this module too.
MODEL_BUILDERS = "tests.workload.models.huggingface"
# The server, the builder of its model, and the args after --model_name and --model_dir.
SERVERS: dict[str, tuple[str, tuple[str, ...]]] = {
    "classifier": ("build_sequence_classifier", ()),
    "generative-huggingface": ("build_causal_lm", ("--backend=huggingface",)),
    "generative-auto": ("build_causal_lm", ()),
}
TEXTS = ["Hello, my dog is cute", "I am feeling sad"]
PROMPT = "Hello, my dog is"
CHAT = [{"role": "user", "content": PROMPT}]
# The generative servers' requests: name, path ({name}: the model), body (a raw string: as is).
GENERATIVE_REQUESTS: tuple[tuple[str, str, Any], ...] = (
    ("completion", "/openai/v1/completions", {"prompt": PROMPT, "max_tokens": 5}),
    ("completion-no-max-tokens", "/openai/v1/completions", {"prompt": PROMPT}),
    ("completion-greedy", "/openai/v1/completions", {"prompt": PROMPT, "temperature": 0}),
    ("completion-stop", "/openai/v1/completions", {"prompt": PROMPT, "stop": ["cute"]}),
    ("completion-n2", "/openai/v1/completions", {"prompt": PROMPT, "max_tokens": 5, "n": 2}),
    ("completion-over-context", "/openai/v1/completions", {"prompt": PROMPT, "max_tokens": 100}),
    ("completion-no-prompt", "/openai/v1/completions", {}),
    ("completion-not-json", "/openai/v1/completions", "not json"),
    ("chat", "/openai/v1/chat/completions", {"messages": CHAT, "max_tokens": 5}),
    (
        "chat-max-completion-tokens",
        "/openai/v1/chat/completions",
        {"messages": CHAT, "max_completion_tokens": 5},
    ),
    ("chat-no-messages", "/openai/v1/chat/completions", {"messages": [], "max_tokens": 5}),
    ("v1", "/v1/models/{name}:predict", {"instances": [PROMPT]}),
    ("models", "/openai/v1/models", None),
)
V2_TEXTS = {"name": "input-0", "shape": [2], "datatype": "BYTES", "data": TEXTS}
CLASSIFIER_REQUESTS: tuple[tuple[str, str, Any], ...] = (
    ("v1", "/v1/models/{name}:predict", {"instances": TEXTS}),
    ("v2", "/v2/models/{name}/infer", {"inputs": [V2_TEXTS]}),
    ("v2-with-id", "/v2/models/{name}/infer", {"id": "request-7", "inputs": [V2_TEXTS]}),
    ("v1-not-texts", "/v1/models/{name}:predict", {"instances": [["a", "b", "c", "d"]]}),
    ("v1-no-instances", "/v1/models/{name}:predict", {"foo": 1}),
    ("v1-unknown-model", "/v1/models/nope:predict", {"instances": TEXTS}),
    ("completion", "/openai/v1/completions", {"prompt": PROMPT}),
    ("v2-metadata", "/v2/models/{name}", None),
    ("models", "/openai/v1/models", None),
)
REQUESTS = {
    "classifier": CLASSIFIER_REQUESTS,
    "generative-huggingface": GENERATIVE_REQUESTS,
    "generative-auto": GENERATIVE_REQUESTS,
}
# Ids, and vLLM's system fingerprint, whose hash is of the engine's configuration (the
# model's path among it), replaced by their forms.
ID_FORMS = (
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<uuid>"),
    (re.compile(r"(cmpl|chatcmpl)-[0-9a-f]{16}"), r"\1-<16 hex>"),
    (re.compile(r"^(vllm-[0-9.]+)-[0-9a-f]{8}$"), r"\1-<configuration hash>"),
)


def normalized(value: Any) -> Any:
    """The answer with `created` a placeholder and each id replaced by its form."""
    if isinstance(value, dict):
        return {
            key: "<time>" if key == "created" else normalized(item) for key, item in value.items()
        }
    if isinstance(value, list):
        return [normalized(item) for item in value]
    if isinstance(value, str):
        for pattern, form in ID_FORMS:
            value = pattern.sub(form, value)
    return value


def _ask(base_url: str, model: str, path: str, body: Any) -> dict[str, Any]:
    """The status and JSON body of the answer to one request."""
    url = base_url + path.format(name=model)
    data = None
    if body is not None:
        if isinstance(body, dict):
            body = json.dumps({"model": model, **body} if "openai" in path else body)
        data = body.encode()
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
            return {"status": answer.status, "body": normalized(json.loads(answer.read()))}
    except urllib.error.HTTPError as error:
        return {"status": error.code, "body": normalized(json.loads(error.read()))}


def _recording() -> bool:
    if not os.environ.get(RECORD_ENV):
        return False
    if not os.environ.get(KSERVE_PYTHON_DIR_ENV):
        pytest.fail(f"{RECORD_ENV} records upstream's answers: set {KSERVE_PYTHON_DIR_ENV}")
    return True


@pytest.fixture(scope="module", params=list(SERVERS))
def answers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Generator[tuple[str, dict[str, Any]]]:
    """Every request's answer from one server, by request name."""
    server: str = request.param
    builder_name, args = SERVERS[server]
    build: Callable[[Path], None] = getattr(importlib.import_module(MODEL_BUILDERS), builder_name)
    model_dir = tmp_path_factory.mktemp(f"{server}-model")
    build(model_dir)
    endpoint = Endpoint(server, model_dir, free_port(), free_port())
    argv = (
        sys.executable, "-m", "huggingfaceserver", f"--model_name={server}",
        f"--model_dir={model_dir}", f"--http_port={endpoint.http_port}",
        f"--grpc_port={endpoint.grpc_port}", *args,
    )  # fmt: skip
    command = Command(server, argv, {**RUNTIME_ENVIRONMENT, **MACHINE_ENVIRONMENT})
    log_path = tmp_path_factory.mktemp(f"{server}-log") / "server.log"
    with running(command, endpoint, log_path, READY_TIMEOUT_S):
        yield (
            server,
            {
                name: _ask(endpoint.base_url, server, path, body)
                for name, path, body in REQUESTS[server]
            },
        )


def test_every_answer_is_upstreams(answers: tuple[str, dict[str, Any]]):
    server, got = answers
    recorded = json.loads(ANSWERS.read_text()) if ANSWERS.exists() else {}
    if _recording():
        recorded[server] = got
        ANSWERS.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")

    expected = recorded[server]

    assert set(got) == set(expected)
    differing = {name: got[name] for name in got if got[name] != expected[name]}
    assert not differing, {name: (got[name], expected[name]) for name in differing}
