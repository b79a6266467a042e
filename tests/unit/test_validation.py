"""Option values checked against their grammars: both edges of every range, and hostile text.

A value refused here never reaches a command line, a Pebble layer or the
Kubernetes API: the unit is Blocked naming it, and the running server keeps
its plan.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from ops import testing

from model_server_charm.config import ConfigError
from model_server_charm.families import family_for
from tests.api_server_cases import QUANTITIES, StoredQuantity
from tests.charms import BY_NAME, PROTEUS, REPRESENTATIVE, ThinCharm, charm_config
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import ACCEL


@pytest.fixture
def charm() -> ThinCharm:
    """Validation is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


DIGEST = "sha256:" + "0123456789abcdef" * 4

# (option, value, None when accepted, else words the Blocked message must contain)
CASES: list[Any] = [
    pytest.param("http-port", 1024, None, id="http-port-1024"),
    pytest.param("http-port", 65535, None, id="http-port-65535"),
    pytest.param(
        "http-port", 1023, "http-port=1023: must be between 1024 and 65535", id="http-port-1023"
    ),
    pytest.param("http-port", 65536, "http-port=65536: must be between", id="http-port-65536"),
    pytest.param("grpc-port", 1024, None, id="grpc-port-1024"),
    pytest.param("grpc-port", 65535, None, id="grpc-port-65535"),
    pytest.param("grpc-port", 1023, "grpc-port=1023: must be between", id="grpc-port-1023"),
    pytest.param("grpc-port", 65536, "grpc-port=65536: must be between", id="grpc-port-65536"),
    # Juju's own processes listen on these in every unit's pod.
    pytest.param(
        "http-port",
        38813,
        "http-port=38813: taken by the server container's Pebble in every unit's pod",
        id="http-port-pebble",
    ),
    pytest.param("grpc-port", 38813, "grpc-port=38813: taken by", id="grpc-port-pebble"),
    pytest.param("http-port", 38812, "the charm container's Pebble", id="http-port-charm-pebble"),
    pytest.param("grpc-port", 3856, "Juju's container agent", id="grpc-port-juju-agent"),
    pytest.param("grpc-port", 38814, None, id="grpc-port-38814"),
    pytest.param("workers", 1, None, id="workers-1"),
    pytest.param("model-name", "m" * 63, None, id="model-name-63"),
    pytest.param("model-name", "m" * 64, "model-name='mmm", id="model-name-64"),
    pytest.param("model-name", "model\n", "model-name='model\\n'", id="model-name-newline"),
    pytest.param("cpu", "500m", None, id="cpu-millicores"),
    pytest.param("cpu", "2", None, id="cpu-2"),
    pytest.param("cpu", ".5", None, id="cpu-fraction"),
    pytest.param("cpu", "1e3", None, id="cpu-exponent"),
    pytest.param("cpu", "1e3m", "cpu='1e3m'", id="cpu-exponent-and-suffix"),
    pytest.param("cpu", "1\n--workers=64", "cpu='1\\n--workers=64'", id="cpu-injected-flag"),
    pytest.param("cpu", "\uff11", "cpu='\uff11'", id="cpu-fullwidth-digit"),
    pytest.param("cpu", "\u0661", "cpu='\u0661'", id="cpu-arabic-indic-digit"),
    pytest.param("cpu", "0", "cpu='0': not a positive Kubernetes quantity", id="cpu-0"),
    pytest.param("cpu", "1e99999", "cpu='1e99999'", id="cpu-beyond-any-machine"),
    pytest.param("memory", "512Mi", None, id="memory-Mi"),
    pytest.param("memory", "4Gi", None, id="memory-Gi"),
    pytest.param("memory", "4G", None, id="memory-G"),
    pytest.param("memory", "4GB", "memory='4GB'", id="memory-GB"),
    pytest.param("memory", "4Gi ", "memory='4Gi '", id="memory-trailing-space"),
    # What the API server would store otherwise than sent (tests/api_server_cases.py).
    pytest.param("memory", "0.5", "memory='0.5': not a whole number of bytes", id="memory-half"),
    pytest.param("memory", "100m", "not a whole number of bytes", id="memory-milli"),
    pytest.param("memory", "1.5Gi", None, id="memory-whole-fraction-of-Gi"),
    pytest.param("memory", "0.5Ki", None, id="memory-512"),
    pytest.param("memory", "9223372036854775", None, id="memory-8PiB"),
    pytest.param(
        "memory",
        "9223372036854776",
        "memory='9223372036854776': more than 9223372036854775 bytes (8 PiB)",
        id="memory-8PiB+1",
    ),
    pytest.param("memory", "8Ei", "memory='8Ei': more than 9223372036854775", id="memory-8Ei"),
    pytest.param("memory", "7Ei", "memory='7Ei': more than", id="memory-7Ei"),
    pytest.param("cpu", "0.001", None, id="cpu-1m"),
    pytest.param("cpu", "0.0001", "cpu='0.0001': finer than 1m", id="cpu-below-1m"),
    pytest.param("cpu", "1.0005", "cpu='1.0005': finer than 1m", id="cpu-half-millicore"),
    pytest.param("cpu", "9223372036854775807m", None, id="cpu-int64-millicores"),
    pytest.param(
        "cpu",
        "9223372036854775808m",
        "cpu='9223372036854775808m': more than 9223372036854775807m",
        id="cpu-int64-millicores+1",
    ),
    pytest.param("cpu", "8Ei", "cpu='8Ei': more than", id="cpu-8Ei"),
    pytest.param("autoscaling-target", 2**31 - 1, None, id="target-int32"),
    pytest.param(
        "autoscaling-target",
        2**31,
        "autoscaling-target=2147483648: must be at most 2147483647 (KServe stores it as a"
        " 32-bit integer)",
        id="target-int32+1",
    ),
    pytest.param("min-replicas", 2**31, "min-replicas=2147483648: must be at most", id="min-big"),
    pytest.param("max-replicas", 2**31 - 1, None, id="max-replicas-int32"),
    pytest.param("max-replicas", 2**31, "max-replicas=2147483648: must be at most", id="max-big"),
    pytest.param("model-uri", "/mnt/models/iris", None, id="uri-absolute-path"),
    pytest.param("model-uri", "hf://owner/model", None, id="uri-hf"),
    pytest.param("model-uri", "https://host/model.joblib", None, id="uri-https"),
    pytest.param("model-uri", "hdfs://namenode:8020/models/iris", None, id="uri-hdfs"),
    pytest.param("model-uri", "webhdfs://namenode:9870/models/iris", None, id="uri-webhdfs"),
    pytest.param(
        "model-uri", "webhdfs://", "name the bucket or host after webhdfs://", id="webhdfs"
    ),
    pytest.param(
        "model-uri",
        "ftp://host/model",
        "model-uri='ftp://host/model': unsupported location; use gs://, s3://, hdfs://,"
        " webhdfs://, http(s)://, hf:// or an absolute path",
        id="uri-ftp",
    ),
    pytest.param("model-uri", "s3://", "model-uri='s3://': name the bucket or host", id="s3"),
    pytest.param("model-uri", "gs://", "model-uri='gs://': name the bucket or host", id="gs"),
    pytest.param("model-uri", "https://", "name the bucket or host after https://", id="https"),
    pytest.param("model-uri", "s3:///model", "name the bucket or host", id="uri-empty-bucket"),
    pytest.param(
        "model-uri",
        "https://user:hunter2@models.example.com/iris",
        "model-uri='https://***@models.example.com/iris': has credentials in it; put them in"
        " the storage-credentials secret",
        id="uri-userinfo",
    ),
    pytest.param("model-uri", "s3://b/m\n", "whitespace or control", id="uri-newline"),
    pytest.param("model-uri", "s3://b/my model", "whitespace or control", id="uri-space"),
    pytest.param("model-uri", "s3://b/m\x00", "whitespace or control", id="uri-nul"),
    pytest.param("model-uri", "s3://b/m\u200b", "whitespace or control", id="uri-zero-width"),
    pytest.param("image", "sklearnserver", None, id="image-name"),
    pytest.param("image", "ghcr.io/org/sklearnserver:0.20.0", None, id="image-registry-tag"),
    pytest.param("image", "localhost:5000/a/b", None, id="image-registry-port"),
    pytest.param("image", f"sklearnserver@{DIGEST}", None, id="image-digest"),
    pytest.param("image", f"r.io:443/a_b/c-d:v1.2@{DIGEST}", None, id="image-everything"),
    pytest.param("image", "[fd00::1]:5000/a:1", None, id="image-ipv6-registry"),
    pytest.param("image", "r.io/" + "a" * 250, None, id="image-name-255"),
    pytest.param("image", "r.io/" + "a" * 251, "not an OCI image reference", id="name-256"),
    pytest.param("image", "r.io/Upper:1", "image='r.io/Upper:1'", id="image-uppercase-path"),
    pytest.param("image", "sklearnserver:", "not an OCI image reference", id="image-empty-tag"),
    pytest.param("image", "a:" + "t" * 129, "not an OCI image reference", id="image-tag-129"),
    pytest.param("image", "a@sha256:abc", "not an OCI image reference", id="image-short-digest"),
    pytest.param("image", "a:1\n", "not an OCI image reference", id="image-newline"),
    pytest.param("image", "--privileged", "not an OCI image reference", id="image-flag"),
    pytest.param("image", "a:1 --x", "not an OCI image reference", id="image-space"),
]


@pytest.mark.parametrize(("option", "value", "problem"), CASES)
def test_option_values_are_checked_against_their_grammar(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    option: str,
    value: Any,
    problem: str | None,
):
    before = running_container(charm, fake.port)
    config = {"model-uri": MODEL_URI, "http-port": fake.port, option: value}
    out = ctx.run(ctx.on.config_changed(), testing.State(config=config, containers={before}))
    status = out.unit_status
    refused = status.name == "blocked" and status.message.startswith("invalid config: ")
    assert refused == (problem is not None)
    assert (problem or "") in status.message
    unchanged = out.get_container(before.name).layers == before.layers
    assert unchanged or problem is None  # a refused value changes nothing


@pytest.mark.parametrize(
    "case",
    [case for case in QUANTITIES if case.changed or case.warns or not case.converges],
    ids=lambda case: f"{case.resource}={case.sent}",
)
def test_what_the_api_server_would_change_is_refused(case: StoredQuantity):
    """Every value the real API server stores otherwise than sent, or warns about."""
    with pytest.raises(ConfigError) as refused:
        charm_config(
            REPRESENTATIVE.charm_type.runtime, model_uri=MODEL_URI, **{case.resource: case.sent}
        )
    [problem] = refused.value.problems
    assert problem.startswith(f"{case.resource}={case.sent!r}: ")


@pytest.mark.parametrize(("above_cap", "accepted"), [(0, True), (1, False)], ids=["cap", "cap+1"])
def test_workers_are_capped_per_runtime(every_charm: ThinCharm, above_cap: int, accepted: bool):
    workers = every_charm.charm_type.runtime.max_workers + above_cap
    state = testing.State(
        config={"model-uri": MODEL_URI, "workers": workers}, containers={container()}
    )
    ctx = testing.Context(every_charm.charm_type)
    out = ctx.run(ctx.on.config_changed(), state)
    assert (f"workers={workers}:" not in out.unit_status.message) == accepted


@pytest.mark.parametrize(
    ("framework", "workers", "accepted"),
    [("lightgbm", 8, True), ("lightgbm", 9, False), ("xgboost", 2, True), ("sklearn", 9, False)],
)
def test_every_framework_runs_up_to_eight_workers(framework: str, workers: int, accepted: bool):
    """Each worker loads its own model: lightgbm's too (predictiveserver alone runs one)."""
    predictive = BY_NAME["predictive-server"]
    options = {"model-uri": MODEL_URI, "framework": framework, "workers": workers}
    ctx = testing.Context(predictive.charm_type)
    out = ctx.run(ctx.on.config_changed(), testing.State(config=options, containers={container()}))
    refusal = f"workers={workers}: predictive runs 1 to 8 worker processes as configured"
    assert (refusal not in out.unit_status.message) == accepted
    assert (out.unit_status.name != "blocked") == accepted


@pytest.mark.parametrize(
    ("resource", "accepted"),
    [("amd.com/xilinx_u55c-0", True), ("amd.com/xilinx_u55c-0\n", False), ("amd.com/", False)],
    ids=["name", "trailing-newline", "no-name"],
)
def test_fpga_resource_is_anchored(resource: str, accepted: bool):
    """Charms whose runtime has FPGAs declare the option; its group checks it."""
    problems: list[str] = []
    try:
        charm_config(ACCEL, model_uri=MODEL_URI, fpga_count=1, fpga_resource=resource)
    except ConfigError as error:
        problems = error.problems
    assert (problems == []) == accepted


@pytest.mark.parametrize(
    ("nthread", "problems"),
    [
        (1, []),
        (64, []),
        (0, ["nthread=0: must be 1 or more"]),
        (-1, ["nthread=-1: must be 1 or more"]),
    ],
)
def test_nthread_is_at_least_1(nthread: int, problems: list[str]):
    xgboost = BY_NAME["xgboost-server"].charm_type.runtime
    found: list[str] = []
    try:
        config = charm_config(xgboost, model_uri=MODEL_URI, nthread=nthread)
        assert f"--nthread={nthread}" in family_for(xgboost).command(config)
    except ConfigError as error:
        found = error.problems
    assert found == problems


@pytest.mark.parametrize("name", ["xgboost-server", "lightgbm-server", "predictive-server"])
def test_nthread_also_bounds_openmps_threads(name: str):
    runtime = BY_NAME[name].charm_type.runtime
    config = charm_config(runtime, model_uri=MODEL_URI, nthread=3)

    environment = family_for(runtime).environment(config, {})

    assert environment["OMP_NUM_THREADS"] == "3"


VART_PROBLEM = (
    "an absolute path in the server's container (a directory of DPU overlays, or one .xclbin)"
)


@pytest.mark.parametrize(
    ("firmware", "accepted"),
    [
        ("/opt/xilinx/overlaybins", True),
        ("/lib/firmware/xilinx/dpu.xclbin", True),
        ("overlaybins", False),
        ("https://example.com/dpu.xclbin", False),
        ("http://example.com/dpu.xclbin", False),
        ("gs://bucket/dpu.xclbin", False),
        ("s3://bucket/dpu.xclbin", False),
        ("/opt/xilinx/over lay", False),
    ],
)
def test_vart_firmware_is_a_path_in_the_container_never_a_url(firmware: str, accepted: bool):
    proteus = PROTEUS.charm_type.runtime
    problems: list[str] = []
    try:
        config = charm_config(proteus, vart_firmware=firmware)
        assert family_for(proteus).environment(config, {})["XLNX_VART_FIRMWARE"] == firmware
    except ConfigError as error:
        problems = error.problems
    assert problems == ([] if accepted else [f"vart-firmware={firmware!r}: {VART_PROBLEM}"])


HUGGINGFACE = BY_NAME["huggingface-server"].charm_type.runtime
KV_CACHE_IN_MEMORY = (
    "the KV cache is part of the server container's memory, beside the model's weights"
)


@pytest.mark.parametrize(
    ("kv_cache_space", "memory", "variable"),
    [(0, "", None), (4, "", "4"), (4, "5Gi", "4"), (1, "1100Mi", "1")],
)
def test_kv_cache_space_reaches_vllm(kv_cache_space: int, memory: str, variable: str | None):
    config = charm_config(
        HUGGINGFACE, model_uri=MODEL_URI, kv_cache_space=kv_cache_space, memory=memory
    )

    environment = family_for(HUGGINGFACE).environment(config, {})

    assert environment.get("VLLM_CPU_KVCACHE_SPACE") == variable


@pytest.mark.parametrize(
    ("kv_cache_space", "memory", "problem"),
    [
        (-1, "", "kv-cache-space=-1: must be 0 (vLLM's own) or more GiB"),
        (4, "4Gi", f"kv-cache-space=4 GiB does not fit in memory='4Gi': {KV_CACHE_IN_MEMORY}"),
        (1, "1e9", f"kv-cache-space=1 GiB does not fit in memory='1e9': {KV_CACHE_IN_MEMORY}"),
    ],
)
def test_a_kv_cache_space_below_0_or_beyond_the_memory_limit_is_refused(
    kv_cache_space: int, memory: str, problem: str
):
    with pytest.raises(ConfigError) as refused:
        charm_config(
            HUGGINGFACE, model_uri=MODEL_URI, kv_cache_space=kv_cache_space, memory=memory
        )

    assert refused.value.problems == [problem]


PADDLE = BY_NAME["paddle-server"].charm_type.runtime
PADDLE_CHOICES = (
    "must be -1 (keep them for the next request), 0 (free each at once)"
    " or more GiB (free them in batches of that size)"
)
PADDLE_KEEPS_IN_MEMORY = (
    "the tensors a worker keeps before freeing them are part of the server container's memory"
)


@pytest.mark.parametrize(
    ("options", "variable"),
    [
        ({}, "-1.0"),
        ({"eager_delete_tensor_gb": 0}, "0.0"),
        ({"eager_delete_tensor_gb": 0.25}, "0.25"),
    ],
)
def test_eager_delete_tensor_gb_reaches_paddle(options: dict[str, float], variable: str):
    config = charm_config(PADDLE, model_uri=MODEL_URI, **options)

    environment = family_for(PADDLE).environment(config, {})

    assert environment["FLAGS_eager_delete_tensor_gb"] == variable


@pytest.mark.parametrize(
    ("gib", "memory", "problem"),
    [
        (-2.0, "", f"eager-delete-tensor-gb=-2.0: {PADDLE_CHOICES}"),
        (math.nan, "", f"eager-delete-tensor-gb=nan: {PADDLE_CHOICES}"),
        (math.inf, "", f"eager-delete-tensor-gb=inf: {PADDLE_CHOICES}"),
        (
            0.5,
            "512Mi",
            f"eager-delete-tensor-gb=0.5 GiB does not fit in memory='512Mi':"
            f" {PADDLE_KEEPS_IN_MEMORY}",
        ),
    ],
)
def test_an_eager_delete_tensor_gb_paddle_cannot_use_is_refused(
    gib: float, memory: str, problem: str
):
    with pytest.raises(ConfigError) as refused:
        charm_config(PADDLE, model_uri=MODEL_URI, eager_delete_tensor_gb=gib, memory=memory)

    assert refused.value.problems == [problem]
