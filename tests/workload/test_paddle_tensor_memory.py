"""`eager-delete-tensor-gb`: the variable the charm sets is the flag the real PaddlePaddle reads.

Paddle reads its `FLAGS_*` from the environment when it is imported, and ignores a name it
does not know; so the interpreter the paddle server runs in, given the environment of the
charm's plan, must report the option's value as its flag. The charm's default (-1) serves every
paddle case of test_model_server.py; Paddle's own default (0) serves the case here too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.workload.charm_cases import CASES
from tests.workload.harness import charm_command, charm_options, running_server

pytestmark = pytest.mark.paddle

CASE = next(case for case in CASES if case.name == "paddle")
FLAG = "FLAGS_eager_delete_tensor_gb"
READ_FLAG = f"import json, paddle; print(json.dumps(paddle.get_flags([{FLAG!r}])))"
IMPORT_TIMEOUT_S = 120


@pytest.mark.parametrize("gib", [-1.0, 0.0, 0.25])
def test_paddle_reads_the_option_from_the_charms_environment(gib: float, tmp_path: Path):
    options = charm_options(tmp_path, **CASE.options, **{"eager-delete-tensor-gb": gib})
    _, command = charm_command(CASE.charm, options, tmp_path)

    read = subprocess.run(
        [sys.executable, "-c", READ_FLAG],
        env={**os.environ, **command.environment},
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=True,
    )

    assert json.loads(read.stdout.splitlines()[-1]) == {FLAG: gib}


def test_a_server_that_frees_each_tensor_at_once_answers_as_upstreams(tmp_path: Path):
    model_dir = CASE.model_in(tmp_path / "model")
    options = {**CASE.options, "eager-delete-tensor-gb": 0.0}

    with running_server(CASE.charm, options, model_dir, tmp_path / "server") as server:
        answers = CASE.answers(server.client, model_dir)

    assert server.plan.environment[FLAG] == "0.0"
    assert answers == CASE.expected_answers
