"""A real server, started from the charm's own Pebble plan, answers the charm's own code.

Per case (tests/workload/charm_cases.py: every charm, on a model built here):
the plan comes from running the charm in Scenario with the case's options; the
server is the stand-in runtime (or the real upstream one with
KSERVE_PYTHON_DIR); the readiness and liveness URLs are the plan's checks;
`predict` and `smoke-test` are the charm's action code; /metrics must count
every request, whichever of the server's worker processes answered it, and
never show an explain latency.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import re
import time
import urllib.request
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy
import pytest
from kserve import InferenceGRPCClient, InferInput, InferRequest
from prometheus_client.multiprocess import MultiProcessCollector

from model_server_charm import actions, layer
from model_server_charm.config import CharmConfig
from model_server_charm.families.kserve_python.family import METRICS_DIR, infer_path
from model_server_charm.server_client import ModelServerClient
from tests.workload.charm_cases import UNTIMED_OPENAI, CharmCase, Example
from tests.workload.harness import RunningCharmServer, running_server

pytestmark = pytest.mark.slow

REQUESTS = 40
# Requests in flight at once, so that every worker process gets some.
CONCURRENT = 8
# gRPC clients, each on its own connection: the kernel spreads connections across workers.
GRPC_CONNECTIONS = 12
# Keep-alive connections a client opens at once (wrk's 16, a proxy's pool).
BURST_CONNECTIONS = 16
# How long every worker has to answer a first request after the server is ready.
ALL_WORKERS_TIMEOUT_S = 120.0
OWN_CONNECTION = ("grpc.use_local_subchannel_pool", 1)
NUMPY_TYPES = {"FP32": numpy.float32, "FP64": numpy.float64, "INT64": numpy.int64}
# The actions' client: patient, as a first request may be slow on a busy machine.
ACTION_TIMEOUT_S = 60
# Wrong for every case's model: text where it takes numbers, words where it takes text.
WRONG_PAYLOAD = {"instances": [["a", "b", "c", "d"]]}


@pytest.fixture(scope="module")
def model_dir(case: CharmCase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp(f"{case.name}-model")
    case.build(directory)
    return directory


@pytest.fixture(scope="module")
def server(
    case: CharmCase, model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Generator[RunningCharmServer]:
    """The charm's plan with the case's options."""
    scratch = tmp_path_factory.mktemp(f"{case.name}-server")
    with running_server(
        case.charm, case.options, model_dir, scratch, case.ready_timeout_s
    ) as running:
        yield running


def _client(server: RunningCharmServer) -> ModelServerClient:
    return ModelServerClient.on_port(server.port, "127.0.0.1", ACTION_TIMEOUT_S)


def _config(case: CharmCase, server: RunningCharmServer, model_uri: str) -> CharmConfig:
    return case.config(model_uri, http_port=server.port)


def _predict(
    case: CharmCase, server: RunningCharmServer, model_dir: Path, example: Example
) -> Any:
    params = actions.PredictParams(case.runtime, json.dumps(example.body), example.protocol)
    config = _config(case, server, str(model_dir))
    return actions.predict(_client(server), case.family, config, params)


def test_the_plans_checks_pass_on_the_running_server(server: RunningCharmServer):
    assert server.check_url(layer.READY_CHECK).endswith("/v2/models/model/ready")
    assert server.check_passes(layer.READY_CHECK)
    assert server.check_passes(layer.ALIVE_CHECK)


def test_the_server_runs_the_cases_worker_count(case: CharmCase, server: RunningCharmServer):
    assert f"--workers={case.workers}" in server.plan.argv


def test_predict_with_the_charms_action_code(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    answers = {}
    for example in case.examples:
        results = _predict(case, server, model_dir, example)
        assert results["status-code"] == 200, results
        answers[example.name] = example.answer(json.loads(results["response"]))

    assert answers == case.expected_answers


def test_predict_reports_the_servers_own_error(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    wrong = Example("wrong", "v1", WRONG_PAYLOAD, answer=lambda _: None, expected=None)
    with pytest.raises(actions.ActionFailedError, match=r"the model server answered [45]\d\d: "):
        _predict(case, server, model_dir, wrong)


def test_smoke_test_checks_the_served_model(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    """Not the upstream example model: a well-formed answer, or readiness and metadata."""
    config = _config(case, server, str(model_dir))
    has_example = case.runtime.example_for(config.value) is not None

    results = actions.smoke_test(_client(server), case.family, config)

    if has_example:
        assert results["result"].startswith("passed: well-formed answer")
    else:
        assert results["result"].startswith("passed: the model is ready and describes itself")
    assert results["latency-ms"] > 0


def test_smoke_test_gives_the_documented_answer(case: CharmCase, server: RunningCharmServer):
    """Served as if it were the upstream example model, the answer is compared exactly.

    The models built here give the documented answers of upstream's examples.
    """
    example = case.runtime.example_for(_config(case, server, "/models").value)
    if example is None or example.expected is None:
        documented = "no upstream example" if example is None else "a generated text"
        pytest.skip(f"{case.name}: runtimes.yaml documents no answer ({documented})")
    config = _config(case, server, example.model_uri)

    results = actions.smoke_test(_client(server), case.family, config)

    assert results["result"] == "passed: the example model gave the documented answer"
    answer = actions.judged(json.loads(results["response"]), example.judge)
    assert actions.matches_expected(answer, example.expected)


def _metrics(server: RunningCharmServer) -> str:
    with urllib.request.urlopen(f"{server.base_url}/metrics", timeout=5) as answer:
        return answer.read().decode()


def _predict_count(server: RunningCharmServer) -> float:
    pattern = re.compile(r'^request_predict_seconds_count\{model_name="model"\} (\S+)$', re.M)
    return sum(float(value) for value in pattern.findall(_metrics(server)))


def test_metrics_count_every_request_across_workers(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    if not case.timed_examples:
        pytest.skip(f"{case.name}: {UNTIMED_OPENAI}")
    example = case.timed_examples[0]
    before = _predict_count(server)

    for _ in range(REQUESTS):
        _predict(case, server, model_dir, example)

    # Several scrapes: whichever worker answers, the count is the whole server's.
    counts = {_predict_count(server) - before for _ in range(6)}
    assert counts == {REQUESTS}


def test_explain_latency_never_has_a_sample(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    """No KServe Python server has an explainer (the dashboards show no explain stage)."""
    for example in case.examples:
        _predict(case, server, model_dir, example)

    assert not re.search(r"^request_explain_seconds", _metrics(server), re.M)


def test_request_logging_plan_serves_and_times_each_request(
    case: CharmCase, model_dir: Path, tmp_path: Path
):
    """With log-requests, kserve's timing middleware stays and writes its kserve.trace lines."""
    example = case.examples[0]
    options = {**case.options, "log-requests": True, "workers": 1}
    with running_server(case.charm, options, model_dir, tmp_path, case.ready_timeout_s) as logged:
        assert "--enable_latency_logging" not in logged.plan.service.command
        results = _predict(case, logged, model_dir, example)
    assert example.answer(json.loads(results["response"])) == example.expected
    log = (tmp_path / "server.log").read_text()
    assert re.search(r" kserve\.trace INFO .*'time:wall'\]", log), log[-2000:]


def _predictions_by_process(server: RunningCharmServer) -> dict[int, float]:
    """Each server process's own request_predict_seconds count, from its multiprocess file."""
    counts: dict[int, float] = {}
    for path in (server.scratch / Path(METRICS_DIR).name).glob("histogram_*.db"):
        pid = int(path.stem.rsplit("_", 1)[1])
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                if sample.name == "request_predict_seconds_count":
                    counts[pid] = counts.get(pid, 0) + sample.value
    return counts


def _served_since(before: dict[int, float], after: dict[int, float]) -> dict[int, float]:
    """The processes that served requests since `before`, with how many."""
    served = {pid: count - before.get(pid, 0) for pid, count in after.items()}
    return {pid: count for pid, count in served.items() if count}


def test_every_worker_process_answers_and_is_counted(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    if case.workers < 2 or not case.timed_examples:
        pytest.skip(f"{case.name}: one worker process, or no request that kserve times")
    example = case.timed_examples[0]
    before = _predictions_by_process(server)
    answers: list[Any] = []
    deadline = time.monotonic() + ALL_WORKERS_TIMEOUT_S

    # Batches until every worker has answered: the server is ready once one worker serves,
    # and on a busy machine the others may still be starting.
    while True:
        answers += _concurrent_answers(case, server, model_dir, example)
        served = _served_since(before, _predictions_by_process(server))
        if len(served) >= case.workers or time.monotonic() > deadline:
            break

    assert answers == [example.expected] * len(answers)
    assert len(served) == case.workers, served
    assert sum(served.values()) == len(answers)
    assert _predict_count(server) - sum(before.values()) == len(answers)


def test_connections_opened_at_once_are_shared_evenly_by_workers_that_load_their_own_model(
    case: CharmCase, server: RunningCharmServer, model_dir: Path
):
    """A burst of keep-alive connections is dealt in turn to the serving workers.

    The launcher's first process accepts them and hands each to the next worker: not all to
    the first worker to wake (one shared socket), nor as a hash of their addresses places
    them (a SO_REUSEPORT socket per worker: 16 split 8/8 over two one time in five).
    """
    if not case.runtime.workers_load_model:
        pytest.skip(f"{case.name}: kserve's own workers share one listening socket")
    example = case.timed_examples[0]
    deadline = time.monotonic() + ALL_WORKERS_TIMEOUT_S
    started = _predictions_by_process(server)
    while len(_served_since({}, started)) < case.workers and time.monotonic() < deadline:
        _concurrent_answers(case, server, model_dir, example)  # until every worker serves
        started = _predictions_by_process(server)

    answers = _answers_on_connections_opened_at_once(server, example)

    served = _served_since(started, _predictions_by_process(server))
    assert answers == [example.expected] * BURST_CONNECTIONS
    assert sorted(served.values()) == [BURST_CONNECTIONS / case.workers] * case.workers, served


def _answers_on_connections_opened_at_once(
    server: RunningCharmServer, example: Example
) -> list[Any]:
    """Open BURST_CONNECTIONS connections, then send one request on each: what each answered."""
    connections = [
        http.client.HTTPConnection("127.0.0.1", server.port, timeout=ACTION_TIMEOUT_S)
        for _ in range(BURST_CONNECTIONS)
    ]
    try:
        for connection in connections:
            connection.connect()
        for connection in connections:
            connection.request(
                "POST",
                infer_path("model", example.protocol),
                body=json.dumps(example.body),
                headers={"Content-Type": "application/json"},
            )
        return [
            example.answer(json.loads(connection.getresponse().read()))
            for connection in connections
        ]
    finally:
        for connection in connections:
            connection.close()


def _concurrent_answers(
    case: CharmCase, server: RunningCharmServer, model_dir: Path, example: Example
) -> list[Any]:
    """REQUESTS predictions, CONCURRENT at a time: what each answered."""
    with ThreadPoolExecutor(CONCURRENT) as pool:
        sent = [pool.submit(_predict, case, server, model_dir, example) for _ in range(REQUESTS)]
        results = [request.result() for request in sent]
    return [example.answer(json.loads(result["response"])) for result in results]


def _grpc_request(example: Example, model_name: str) -> InferRequest:
    inputs = []
    for tensor in example.body["inputs"]:
        data = numpy.asarray(tensor["data"], dtype=NUMPY_TYPES[tensor["datatype"]])
        infer_input = InferInput(tensor["name"], tensor["shape"], tensor["datatype"])
        infer_input.set_data_from_numpy(data.reshape(tensor["shape"]))
        inputs.append(infer_input)
    return InferRequest(model_name=model_name, infer_inputs=inputs)


async def _grpc_answers(port: int, request: InferRequest, connections: int) -> list[Any]:
    """Send `request` once on each of `connections` new connections; the answers, as REST's."""

    async def once() -> Any:
        # A subchannel of its own: else every client shares the process's one connection.
        client = InferenceGRPCClient(
            f"127.0.0.1:{port}", timeout=ACTION_TIMEOUT_S, channel_args=[OWN_CONNECTION]
        )
        try:
            response = await client.infer(request)
        finally:
            await client.close()
        answer, _ = response.to_rest()
        return answer

    return await asyncio.gather(*(once() for _ in range(connections)))


def test_grpc_is_served_by_every_worker_that_loads_its_own_model(
    case: CharmCase, server: RunningCharmServer
):
    """Each worker binds the gRPC port (SO_REUSEPORT): the kernel spreads connections."""
    if not case.runtime.workers_load_model:
        pytest.skip(f"{case.name}: kserve serves gRPC from its first process only")
    example = next(example for example in case.examples if example.protocol == "v2")
    (grpc_flag,) = (arg for arg in server.plan.argv if arg.startswith("--grpc_port="))
    grpc_port = int(grpc_flag.split("=", 1)[1])
    request = _grpc_request(example, "model")
    before = _predictions_by_process(server)
    answers: list[Any] = []
    deadline = time.monotonic() + ALL_WORKERS_TIMEOUT_S

    while True:  # a worker binds the port once it has loaded its model
        answers += asyncio.run(_grpc_answers(grpc_port, request, GRPC_CONNECTIONS))
        served = _served_since(before, _predictions_by_process(server))
        if len(served) >= case.workers or time.monotonic() > deadline:
            break

    assert [example.answer(answer) for answer in answers] == [example.expected] * len(answers)
    assert len(served) == case.workers, served
    assert sum(served.values()) == len(answers)
