"""The stand-in amdinfer-server as a process: its flags, files, repository watch and deaths.

The real server segfaults or aborts on some request bodies (DESIGN.md §4); the
stand-in must die of the same signal, without answering, so that the charm's
client and Pebble's restart are tested against that behaviour.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench.servers import free_port
from tests.workload.amdinfer_standin import (
    ECHO_REQUEST,
    make_repository,
    running_standin,
    standin_command,
    standin_environment,
    wait_until,
)

CLI_TIMEOUT_S = 20
MONITORING_TIMEOUT_S = 10.0
TWO_INPUTS = {"inputs": ECHO_REQUEST["inputs"] * 2}


def run_cli(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the stand-in with these flags until it exits on its own."""
    return subprocess.run(
        standin_command(arguments),
        cwd=tmp_path,
        env=standin_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        check=False,
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--http-prot=1"], "Option \u2018http-prot\u2019 does not exist"),
        (["-p", "1"], "Option \u2018p\u2019 does not exist"),
        (["--http-port", "http"], "Argument \u2018http\u2019 failed to parse"),
        (["--grpc-port=70000"], "Argument \u201870000\u2019 failed to parse"),
        (["--model-repository"], "Option \u2018model-repository\u2019 is missing an argument"),
        (["--repository-monitoring=maybe"], "Argument \u2018maybe\u2019 failed to parse"),
    ],
)
def test_bad_flags_exit_1_with_the_parser_message(
    tmp_path: Path, arguments: list[str], message: str
):
    result = run_cli(tmp_path, *arguments)

    assert (result.returncode, result.stdout) == (1, f"Error parsing options: {message}\n")


def test_help_exits_0(tmp_path: Path):
    result = run_cli(tmp_path, "--help")

    assert result.returncode == 0
    assert "--repository-monitoring" in result.stdout


def test_flags_with_spaces_and_explicit_booleans(tmp_path: Path):
    make_repository(tmp_path / "models")
    flags = ["--repository-load-existing", "--repository-monitoring=false"]

    with running_standin(tmp_path, ["--use-polling-watcher", *flags]) as standin:
        assert standin.get("/v2/models").json() == {"models": ["echo"]}


def test_without_load_existing_the_repository_is_not_loaded(tmp_path: Path):
    with running_standin(tmp_path, []) as standin:
        assert standin.get("/v2/models").json() == {"models": []}


def test_port_in_use_exits_1(tmp_path: Path):
    with running_standin(tmp_path) as standin:
        port = standin.url.rsplit(":", 1)[1]
        result = run_cli(tmp_path, "--http-port", port, "--grpc-port", str(free_port()))

    assert result.returncode == 1
    assert "Bind address failed" in result.stderr


@pytest.mark.parametrize(
    ("body", "content_type", "signal_number"),
    [
        pytest.param(ECHO_REQUEST, "text/plain", signal.SIGSEGV, id="no-json-content-type"),
        pytest.param(ECHO_REQUEST, None, signal.SIGSEGV, id="no-content-type"),
        pytest.param(b'{"inputs": [', "application/json", signal.SIGSEGV, id="invalid-json"),
        pytest.param(TWO_INPUTS, "application/json", signal.SIGABRT, id="two-inputs"),
        pytest.param({"inputs": []}, "application/json", signal.SIGABRT, id="no-input"),
        pytest.param(
            {**ECHO_REQUEST, "outputs": [{}, {}]},
            "application/json",
            signal.SIGABRT,
            id="two-outputs",
        ),
    ],
)
def test_fatal_infer_kills_the_server(
    tmp_path: Path, body: Any, content_type: str | None, signal_number: signal.Signals
):
    with running_standin(tmp_path) as standin:
        answer = standin.post("/v2/models/echo/infer", body, content_type=content_type)
        status = standin.wait_exit()

    assert answer.status == 0, "the server dies without answering"
    assert status == -signal_number


def test_monitoring_follows_entries_coming_and_going(tmp_path: Path):
    staging = make_repository(tmp_path / "staging", ["second"])

    with running_standin(tmp_path) as standin:
        (staging / "second").rename(standin.repository / "second")
        wait_until(
            lambda: "second" in standin.get("/v2/models").json()["models"],
            MONITORING_TIMEOUT_S,
            "a new entry is loaded",
        )
        answer = standin.post("/v2/models/second/infer", ECHO_REQUEST)
        (standin.repository / "second" / "config.toml").unlink()
        wait_until(
            lambda: "second" not in standin.get("/v2/models").json()["models"],
            MONITORING_TIMEOUT_S,
            "a removed entry is unloaded",
        )

    assert answer.json()["outputs"][0]["data"] == [4]


def test_server_log_truncated_at_start_one_line_per_request(tmp_path: Path):
    log = tmp_path / "home" / ".amdinfer" / "logs" / "server.log"
    log.parent.mkdir(parents=True)
    log.write_text("from an earlier run\n")

    with running_standin(tmp_path) as standin:
        before = log.read_text().splitlines()
        for _ in range(3):
            standin.post("/v2/models/echo/infer", ECHO_REQUEST)
        after = log.read_text().splitlines()

    added = after[len(before) :]
    assert "from an earlier run" not in before
    assert len(added) == 3
    assert all(
        line.endswith("[server] [info] Received modelInfer request for echo") for line in added
    )
    assert (tmp_path / "uploads").is_dir(), "drogon creates ./uploads in the working directory"


def test_clean_stop_keeps_drogon_log_under_a_dated_name(tmp_path: Path):
    with running_standin(tmp_path) as standin:
        standin.post("/v2/models/unknown/infer", ECHO_REQUEST)  # drogon logs the escaped error
        standin.process.send_signal(signal.SIGTERM)
        status = standin.wait_exit()

    logs = sorted(path.name for path in standin.log_dir.iterdir())
    assert status == 0
    assert logs[1:] == ["server.log"]
    assert logs[0].startswith("drogon.")
    assert logs[0] != "drogon.log"
    assert "ERROR" in (standin.log_dir / logs[0]).read_text()
