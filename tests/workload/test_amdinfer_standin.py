"""The stand-in amdinfer-server answers the REST API as the real v0.4.0 server does.

Each case is a fact of DESIGN.md §4, of amdinfer's v0.4.0 sources or measured
on a real build: the charm's client is tested against these answers, so they
are checked here one by one, on loopback, against a fresh server
(tests/workload/amdinfer_run.py) — the stand-in, or with AMDINFER_PREFIX the
real amdinfer-server, which must give the same answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.workload.amdinfer_run import (
    ECHO_REQUEST,
    RunningAmdinfer,
    make_repository,
    running_amdinfer,
)
from tests.workload.amdinfer_server import amdinfer_server

ECHO_ANSWER = {
    "id": "",
    "model_name": "echo",
    "outputs": [{"data": [4], "datatype": "UINT32", "name": "", "parameters": {}, "shape": [1]}],
}
CONCURRENT_CLIENTS = 8
REQUESTS_PER_CLIENT = 25


@pytest.fixture
def standin(tmp_path: Path) -> Iterator[RunningAmdinfer]:
    with running_amdinfer(tmp_path) as server:
        yield server


def echo_input(**changes: Any) -> dict[str, Any]:
    """ECHO_REQUEST with its one input tensor changed."""
    return {"inputs": [{**ECHO_REQUEST["inputs"][0], **changes}]}


def test_health_and_server_metadata(standin: RunningAmdinfer):
    assert (standin.get("/v2/health/live").status, standin.get("/v2/health/live").text) == (
        200,
        "",
    )
    assert standin.get("/v2/health/ready").status == 200
    assert standin.get("/v2").json() == {"name": "amdinfer", "version": "0.4.0", "extensions": []}


def test_monitoring_loads_the_existing_echo_entry(standin: RunningAmdinfer):
    assert standin.get("/v2/models").json() == {"models": ["echo"]}
    assert standin.get("/v2/models/echo/ready").status == 200


def test_model_metadata_lists_outputs_under_inputs(standin: RunningAmdinfer):
    tensor = {"name": "", "datatype": "UINT32", "shape": [1]}

    metadata = standin.get("/v2/models/echo").json()

    assert metadata == {
        "name": "CPlusPlus",
        "versions": [],
        "platform": "CPU",
        "inputs": [tensor, tensor],
        "outputs": [],
    }


def test_unknown_model_is_not_found(standin: RunningAmdinfer):
    ready = standin.get("/v2/models/nope/ready")
    metadata = standin.get("/v2/models/nope")

    assert (ready.status, ready.text) == (400, "Worker nope not found")
    assert (metadata.status, metadata.json()) == (400, {"error": "Worker nope not found"})


def test_echo_adds_one(standin: RunningAmdinfer):
    answer = standin.post("/v2/models/echo/infer", ECHO_REQUEST)

    assert (answer.status, answer.json()) == (200, ECHO_ANSWER)
    assert answer.content_type.startswith("application/json")


def test_echo_names_the_requested_output_and_keeps_the_id(standin: RunningAmdinfer):
    request = {**ECHO_REQUEST, "id": "r-1", "outputs": [{"name": "plus-one"}]}

    answer = standin.post("/v2/models/echo/infer", request).json()

    assert (answer["id"], answer["outputs"][0]["name"]) == ("r-1", "plus-one")


@pytest.mark.parametrize(
    ("datatype", "data", "expected"),
    [
        pytest.param("FP32", [3.0], 0x40400000 + 1, id="fp32-read-as-raw-bits"),
        pytest.param("UINT8", [3, 1, 0, 0], 0x0103 + 1, id="bytes-of-four-elements"),
        pytest.param("UINT32", [3.9], 4, id="real-truncated"),
        pytest.param("UINT32", [2**32 - 1], 0, id="wraps-around"),
    ],
)
def test_echo_reads_the_input_buffer_as_uint32(
    standin: RunningAmdinfer, datatype: str, data: list[Any], expected: int
):
    """The buffer holds the tensor's shape: four bytes here, all written by the request."""
    tensor = echo_input(datatype=datatype, data=data, shape=[len(data)])

    answer = standin.post("/v2/models/echo/infer", tensor)

    assert answer.json()["outputs"][0]["data"] == [expected]


@pytest.mark.parametrize(
    ("request_body", "error"),
    [
        ({"id": "x"}, "No 'inputs' key present in request"),
        ({"inputs": {}}, "'inputs' is not an array"),
        (echo_input(shape=[-1]), "'shape' must be specified by uint64 elements"),
        (echo_input(data=["three"]), "Could not convert some data to the provided data type"),
        (echo_input(data=[-1]), "Could not convert some data to the provided data type"),
        ({"inputs": [{"name": "echo", "shape": [1], "data": [3]}]}, "No 'datatype' key present"),
    ],
)
def test_malformed_infer_is_a_400_with_the_reason(
    standin: RunningAmdinfer, request_body: dict[str, Any], error: str
):
    answer = standin.post("/v2/models/echo/infer", request_body)

    assert answer.status == 400
    assert answer.json()["error"].startswith(error)


def test_infer_without_inputs_is_refused_by_the_batcher(standin: RunningAmdinfer):
    answer = standin.post("/v2/models/echo/infer", {"inputs": []})

    assert (answer.status, answer.json()) == (400, {"error": "Input size is zero"})


def test_the_answer_names_the_first_requested_output(standin: RunningAmdinfer):
    """A Release build checks no output count (an assert in a debug build)."""
    request = {**ECHO_REQUEST, "outputs": [{"name": "first"}, {"name": "second"}]}

    answer = standin.post("/v2/models/echo/infer", request)

    assert answer.status == 200
    assert [output["name"] for output in answer.json()["outputs"]] == ["first"]


def test_infer_on_an_unknown_model_is_a_500_with_an_empty_body(standin: RunningAmdinfer):
    answer = standin.post("/v2/models/Echo/infer", ECHO_REQUEST)

    assert (answer.status, answer.text) == (500, "")
    assert standin.process.poll() is None
    assert standin.drogon_log() == [
        "ERROR Unhandled exception in /v2/models/Echo/infer, what(): bad_function_call"
        " - HttpAppFrameworkImpl.cc:133"
    ]


def test_repository_load_and_unload(standin: RunningAmdinfer):
    missing = standin.post("/v2/repository/models/nope/load", b"")
    unloaded = standin.post("/v2/repository/models/echo/unload", b"")
    models_after_unload = standin.get("/v2/models").json()["models"]
    loaded = standin.post("/v2/repository/models/ECHO/load", {})

    assert missing.status == 400
    assert missing.json()["error"] == (
        f"No configuration file could be loaded in {standin.repository / 'nope'}"
    )
    assert (unloaded.status, models_after_unload) == (200, [])
    assert (loaded.status, standin.get("/v2/models").json()["models"]) == (200, ["echo"])


def test_versioned_load_serves_model_underscore_version(standin: RunningAmdinfer):
    version_dir = standin.repository / "echo" / "2"
    version_dir.mkdir()
    (version_dir / "libecho.so").write_bytes(amdinfer_server().echo_library())

    loaded = standin.post("/v2/repository/models/echo/versions/2/load", {})
    missing = standin.post("/v2/repository/models/echo/versions/3/load", {})

    assert loaded.status == 200
    assert standin.post("/v2/models/echo_2/infer", ECHO_REQUEST).json() == ECHO_ANSWER
    assert missing.status == 400


def test_pbtxt_entry_loads(standin: RunningAmdinfer):
    entry = standin.repository / "pb"
    (entry / "1").mkdir(parents=True)
    (entry / "1" / "libecho.so").write_bytes(amdinfer_server().echo_library())
    (entry / "config.pbtxt").write_text(
        'name: "pb"\nplatform: "amdinfer_cpp"\n'
        'inputs { name: "x" datatype: "UINT32" shape: [1] }\n'
        'outputs { name: "y" datatype: "UINT32" shape: 1 }\n'
    )

    assert standin.post("/v2/repository/models/pb/load", {}).status == 200
    assert standin.post("/v2/models/pb/infer", ECHO_REQUEST).status == 200


TENSORS = '[[inputs]]\nname = "x"\ndatatype = "UINT32"\nshape = [1]\n' + (
    '[[outputs]]\nname = "y"\ndatatype = "UINT32"\nshape = [1]\n'
)
SECOND_ANSWER = (
    "ERROR Sending more than 1 response for request. Ignoring later response - HttpServer.cc:355"
)


@pytest.mark.parametrize(
    ("config", "status", "error"),
    [
        ('name = "bad"\nplatform = "nope"\n' + TENSORS, 400, "Unknown platform: nope"),
        (
            'name = "bad"\nplatform = "amdinfer_cpp"\n' + TENSORS,
            400,
            "/bad/1/model.xmodel.so: cannot open shared object file: No such file or directory",
        ),
        (
            'name = "bad"\nplatform = "nope"\ninputs = []\n',
            400,
            "inputs must be a homogenous array",
        ),
        ('platform = "amdinfer_cpp"\n', 400, "The configuration must have a name"),
        ('name = "bad"\nplatform = "vitis_xmodel"\n' + TENSORS, 500, None),
        ("name = [unclosed\n", 500, None),
    ],
)
def test_bad_repository_entry_is_refused(
    tmp_path: Path, config: str, status: int, error: str | None
):
    """Loaded through the API by a server that does not watch (these configs would kill it)."""
    entry = make_repository(tmp_path / "models", []) / "bad"
    (entry / "1").mkdir(parents=True)
    (entry / "1" / "model.xmodel").write_bytes(b"placeholder")
    (entry / "config.toml").write_text(config)

    with running_amdinfer(tmp_path, []) as server:
        answer = server.post("/v2/repository/models/bad/load", {})
        models = server.get("/v2/models").json()["models"]

    assert answer.status == status
    assert "bad" not in models
    if error is None:
        assert answer.text == ""
        assert server.drogon_log()[0].startswith(
            "ERROR Unhandled exception in /v2/repository/models/bad/load, what(): "
        )
    else:
        assert answer.json()["error"].endswith(error)
        assert server.drogon_log() == [SECOND_ANSWER], "the handler answers twice"


def test_worker_endpoints_are_named_by_parameters(standin: RunningAmdinfer):
    def load(parameters: dict[str, Any]) -> str:
        return standin.post("/v2/workers/CPlusPlus/load", parameters).text

    names = [load({"model": "echo"}), load({"model": "echo"}), load({"model": "echo", "a": 1})]
    names.append(load({"model": "echo", "a": True}))

    assert names == ["cplusplus", "cplusplus", "cplusplus-0", "cplusplus-1"]
    assert standin.post("/v2/models/cplusplus-1/infer", ECHO_REQUEST).json() == ECHO_ANSWER


@pytest.mark.parametrize(
    ("worker", "body", "content_type", "status", "text"),
    [
        ("cplusplus", {"parameters": {"model": "echo"}}, "application/json", 500, ""),
        ("cplusplus", {"model": "echo"}, None, 400, '{"error":"No model specified"}'),
        ("xmodel", {"model": "x"}, "application/json", 500, ""),
        (
            "cplusplus",
            {"model": "nope"},
            "application/json",
            400,
            '{"error":"libnope.so: cannot open shared object file: No such file or directory"}',
        ),
    ],
)
def test_worker_load_failures(
    standin: RunningAmdinfer,
    worker: str,
    body: dict[str, Any],
    content_type: str | None,
    status: int,
    text: str,
):
    answer = standin.post(f"/v2/workers/{worker}/load", body, content_type=content_type)

    assert answer.status == status
    assert text in answer.text if text else answer.text == ""
    assert standin.get("/v2/models").json()["models"] == ["echo"]


def test_worker_unload_is_counted_per_worker_of_the_endpoint(standin: RunningAmdinfer):
    standin.post("/v2/workers/cplusplus/load", {"model": "echo"})
    standin.post("/v2/workers/cplusplus/load", {"model": "echo", "share": False})

    standin.post("/v2/workers/cplusplus/unload", b"")
    after_one = standin.get("/v2/models/cplusplus/ready").status
    standin.post("/v2/workers/cplusplus/unload", b"")
    after_two = standin.get("/v2/models/cplusplus/ready").status
    again = standin.post("/v2/workers/cplusplus/unload", b"").status

    assert (after_one, after_two, again) == (200, 400, 200)


def test_hardware_without_fpga(standin: RunningAmdinfer):
    assert standin.post("/v2/hardware", {"name": "DPUCADF8H", "num": 1}).status == 404
    assert standin.post("/v2/hardware", b"{}", content_type=None).json() == {
        "error": "No JSON body in hasHardware request"
    }


def test_metrics_count_concurrent_requests(standin: RunningAmdinfer):
    def client(_: int) -> list[int]:
        return [
            standin.post("/v2/models/echo/infer", ECHO_REQUEST).json()["outputs"][0]["data"][0]
            for _ in range(REQUESTS_PER_CLIENT)
        ]

    with ThreadPoolExecutor(CONCURRENT_CLIENTS) as pool:
        answers = [
            value for values in pool.map(client, range(CONCURRENT_CLIENTS)) for value in values
        ]
    metrics = standin.get("/metrics")
    families = {f.name: f for f in text_string_to_metric_families(metrics.text)}

    total = CONCURRENT_CLIENTS * REQUESTS_PER_CLIENT
    assert answers == [4] * total
    assert metrics.content_type.startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert (
        samples[("amdinfer_requests_ingress_total", (("api", "rest"), ("method", "POST")))]
        == total
    )
    assert samples[("amdinfer_request_latency_count", ())] == total
    pipeline = {
        (name.split("_")[2], stage): samples[(name, (("stage", stage),))]
        for name in ("amdinfer_pipeline_ingress_total", "amdinfer_pipeline_egress_total")
        for stage in ("batcher", "worker")
    }
    # Each worker of echo's chain (the model's, then the responder) counts a request in;
    # only the responder counts it out.
    assert pipeline == {
        ("ingress", "batcher"): total,
        ("egress", "batcher"): total,
        ("ingress", "worker"): 2 * total,
        ("egress", "worker"): total,
    }
    assert families["amdinfer_queue_sizes_total"].type == "gauge"
    assert families["amdinfer_request_latency"].type == "summary"
    quantiles = {s.labels.get("quantile") for s in families["amdinfer_request_latency"].samples}
    assert {"0.5", "0.9", "0.99"} <= quantiles


def test_exposer_metrics_count_the_earlier_scrapes(standin: RunningAmdinfer):
    first = standin.get("/metrics").text
    second = standin.get("/metrics").text

    def value(text: str, name: str) -> float:
        families = text_string_to_metric_families(text)
        return next(s.value for f in families for s in f.samples if s.name == name)

    assert value(first, "exposer_scrapes_total") == 0
    assert value(second, "exposer_scrapes_total") == 1
    assert value(second, "exposer_transferred_bytes_total") == len(first.encode())
    assert value(second, "exposer_request_latencies_count") == 1


def test_summaries_list_count_and_sum_before_quantiles(standin: RunningAmdinfer):
    standin.post("/v2/models/echo/infer", ECHO_REQUEST)

    lines = standin.get("/metrics").text.splitlines()

    latency = [line.split(" ")[0] for line in lines if line.startswith("amdinfer_request_latency")]
    assert latency == [
        "amdinfer_request_latency_count",
        "amdinfer_request_latency_sum",
        *(f'amdinfer_request_latency{{quantile="{q}"}}' for q in ("0.5", "0.9", "0.99")),
    ]
