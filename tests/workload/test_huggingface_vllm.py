"""`backend=vllm` with `kv-cache-space`: the charm's layer on vLLM's real CPU engine, real Pebble.

Without `kv-cache-space`, vLLM's CPU engine reserves 90% of the memory of the machine's first
NUMA node for its KV cache. The Pebble daemon's environment here has no VLLM_CPU_KVCACHE_SPACE
(the KServe-runtime tests add it to their containers), so the size vLLM reports comes from the
option, through the charm's layer. The server is the stand-in on the real vLLM 0.24.0 (or
upstream's own with KSERVE_PYTHON_DIR).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.servers import ServedModel
from tests.workload.charm_cases import CASES
from tests.workload.harness import charm_on_pebble, charm_options
from tests.workload.server_runtime import ServerRuntime

pytestmark = [pytest.mark.huggingface, pytest.mark.slow]

CASE = next(case for case in CASES if case.name == "huggingface-generative")
KV_CACHE_GIB = 1
# vLLM's first completion on 2 shared cores can take several seconds (its warm-up).
REQUEST_TIMEOUT_S = 60
# vLLM's own line (vllm/v1/worker/cpu_worker.py), its GiB rounded to 2 places.
EXPLICIT_KV_CACHE = re.compile(r"Explicitly set \(1\.0/[0-9.]+\) GiB for KV cache")


def test_kv_cache_space_is_the_kv_cache_vllm_reserves(
    pebble_bin: Path, server_runtime: ServerRuntime
):
    model_dir = server_runtime.model_directory(f"{CASE.name}-model", CASE.build)
    vllm = {**CASE.options, "backend": "vllm", "kv-cache-space": KV_CACHE_GIB}
    options = charm_options(model_dir, **vllm)
    config = CASE.config(str(model_dir), backend="vllm", kv_cache_space=KV_CACHE_GIB)
    example = CASE.examples[0]

    # Pebble's working directory is its services' too, and vLLM's engine core (a process
    # multiprocessing spawns) changes into it: one the server's user may enter, as `/` in a pod.
    pebble_dir = server_runtime.directory("vllm-pebble") / "state"

    with charm_on_pebble(pebble_bin, server_runtime, CASE.charm, options, pebble_dir) as served:
        served.wait_ready(CASE.ready_timeout_s)
        client = ServedModel.at(int(options["http-port"]), "model", timeout=REQUEST_TIMEOUT_S)
        answer = CASE.family.infer(client, config, example.protocol, example.body, "")
        log = served.daemon.log_path.read_text(errors="replace")

    assert "VLLM_CPU_KVCACHE_SPACE" not in server_runtime.environment()
    assert served.plan.environment["VLLM_CPU_KVCACHE_SPACE"] == str(KV_CACHE_GIB)
    assert EXPLICIT_KV_CACHE.search(log), log[-3000:]
    assert answer.ok, answer.body
    assert example.answer(json.loads(answer.body)) == example.expected_with_kserve_args
