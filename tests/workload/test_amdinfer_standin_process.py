"""amdinfer-server as a process: its flags, files, listeners, repository watch and deaths.

The real server segfaults or aborts on some request bodies (DESIGN.md §4); the
stand-in must die of the same signal, without answering, so that the charm's
client and Pebble's restart are tested against that behaviour. Every case runs
on the stand-in, and with AMDINFER_PREFIX on the real server
(tests/workload/amdinfer_server.py), which must behave the same.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from bench.servers import free_port
from tests.workload.amdinfer_run import (
    ECHO_REQUEST,
    RunningAmdinfer,
    make_repository,
    running_amdinfer,
    server_environment,
    wait_until,
)
from tests.workload.amdinfer_server import amdinfer_server

CLI_TIMEOUT_S = 20
MONITORING_TIMEOUT_S = 10.0
# Long enough for the watcher to have seen a change (the stand-in polls every 0.5 s).
SETTLE_S = 2.0
TWO_INPUTS = {"inputs": ECHO_REQUEST["inputs"] * 2}


def run_cli(tmp_path: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the server under test with these flags until it exits on its own."""
    return subprocess.run(
        amdinfer_server().command(arguments),
        cwd=tmp_path,
        env=server_environment(tmp_path),
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

    with running_amdinfer(tmp_path, ["--use-polling-watcher", *flags]) as standin:
        assert standin.get("/v2/models").json() == {"models": ["echo"]}


def test_without_load_existing_nothing_is_loaded_and_the_server_is_ready(tmp_path: Path):
    """Readiness is the server's, not a model's: ask the model's own route for that."""
    with running_amdinfer(tmp_path, []) as server:
        assert server.get("/v2/models").json() == {"models": []}
        assert server.get("/v2/health/ready").status == 200
        assert server.get("/v2/models/echo/ready").status == 400


def test_port_in_use_exits_1_saying_so_in_drogons_dated_log(tmp_path: Path):
    with running_amdinfer(tmp_path / "first") as first:
        port = first.url.rsplit(":", 1)[1]
        result = run_cli(tmp_path, "--http-port", port, "--grpc-port", str(free_port()))

    logs = tmp_path / ".amdinfer" / "logs"
    (dated,) = (path for path in logs.iterdir() if path.name.startswith("drogon."))
    assert result.returncode == 1
    assert (result.stderr, result.stdout.splitlines()[1]) == (
        "",
        f"HTTP server starting at port {port}",
    )
    assert dated.name != "drogon.log"
    assert (
        dated.read_text()
        .rstrip()
        .endswith(
            f"FATAL Address already in use (errno=98) , Bind address failed at 0.0.0.0:{port}"
            " - Socket.cc:67"
        )
    )


@pytest.mark.parametrize(
    ("body", "content_type", "signal_number"),
    [
        pytest.param(ECHO_REQUEST, "text/plain", signal.SIGSEGV, id="no-json-content-type"),
        pytest.param(ECHO_REQUEST, None, signal.SIGSEGV, id="no-content-type"),
        pytest.param(b'{"inputs": [', "application/json", signal.SIGSEGV, id="invalid-json"),
        pytest.param(b"", "application/json", signal.SIGSEGV, id="empty-body"),
        pytest.param(TWO_INPUTS, "application/json", signal.SIGABRT, id="two-inputs"),
    ],
)
def test_fatal_infer_kills_the_server(
    tmp_path: Path, body: Any, content_type: str | None, signal_number: signal.Signals
):
    with running_amdinfer(tmp_path) as standin:
        answer = standin.post("/v2/models/echo/infer", body, content_type=content_type)
        status = standin.wait_exit()

    assert answer.status == 0, "the server dies without answering"
    assert status == -signal_number


def served(server: RunningAmdinfer) -> list[str]:
    return server.get("/v2/models").json()["models"]


def test_monitoring_follows_entries_written_and_removed(tmp_path: Path):
    """The real server misses files written within moments of their new directory."""
    with running_amdinfer(tmp_path) as server:
        (server.repository / "second").mkdir()
        time.sleep(SETTLE_S)
        make_repository(server.repository, ["second"])
        wait_until(lambda: "second" in served(server), MONITORING_TIMEOUT_S, "loaded")
        answer = server.post("/v2/models/second/infer", ECHO_REQUEST)
        (server.repository / "second" / "config.toml").unlink()
        wait_until(lambda: "second" not in served(server), MONITORING_TIMEOUT_S, "unloaded")

    assert answer.json()["outputs"][0]["data"] == [4]


def test_a_directory_moved_in_is_not_loaded_and_ends_following_new_ones(tmp_path: Path):
    staging = make_repository(tmp_path / "moving", ["moved"])

    with running_amdinfer(tmp_path) as server:
        existing = make_repository(server.repository, ["existing"]) / "existing" / "config.toml"
        config = existing.read_text()
        existing.unlink()
        time.sleep(SETTLE_S)
        (staging / "moved").rename(server.repository / "moved")
        time.sleep(SETTLE_S)
        make_repository(server.repository, ["later"])
        existing.write_text(config)
        wait_until(lambda: "existing" in served(server), MONITORING_TIMEOUT_S, "loaded")
        time.sleep(SETTLE_S)
        models = served(server)

    assert "moved" not in models, "no configuration was added: it came with its directory"
    assert "later" not in models, "directories created after the move are not followed"


def test_an_invalid_config_appearing_kills_the_watching_server(tmp_path: Path):
    with running_amdinfer(tmp_path) as server:
        (server.repository / "bad").mkdir()
        time.sleep(SETTLE_S)  # a config written with its new directory at once may be missed
        (server.repository / "bad" / "config.toml").write_text("name = [unclosed\n")
        status = server.wait_exit()

    assert status == -signal.SIGABRT


def test_a_worker_it_cannot_create_in_the_repository_kills_it_at_start(tmp_path: Path):
    entry = make_repository(tmp_path / "models") / "echo" / "config.toml"
    entry.write_text(entry.read_text().replace("amdinfer_cpp", "vitis_xmodel"))

    ports = ("--http-port", str(free_port()), "--grpc-port", str(free_port()))
    repository = f"--model-repository={tmp_path / 'models'}"

    result = run_cli(tmp_path, repository, "--repository-monitoring", *ports)

    assert result.returncode == -signal.SIGABRT


def test_server_log_truncated_at_start_three_lines_per_infer(tmp_path: Path):
    log = tmp_path / "home" / ".amdinfer" / "logs" / "server.log"
    log.parent.mkdir(parents=True)
    log.write_text("from an earlier run\n")

    with running_amdinfer(tmp_path) as server:
        before = server.server_log()
        for _ in range(2):
            server.post("/v2/models/echo/infer", ECHO_REQUEST)
        added = server.server_log()[len(before) :]

    assert "from an earlier run" not in log.read_text()
    assert before[0].startswith("[server] [info] [main.cpp:121] Using model repository: ")
    assert added == 2 * [
        "[server] [info] [http_server.cpp:497] Received modelInfer request for echo",
        "[server] [info] [worker.hpp:204] Got request in CPlusPlus",
        "[server] [info] [worker.hpp:204] Got request in responder",
    ]
    assert (tmp_path / "uploads").is_dir(), "drogon creates ./uploads in the working directory"


def test_clean_stop_keeps_drogon_log_under_a_dated_name(tmp_path: Path):
    with running_amdinfer(tmp_path) as server:
        no_log_yet = sorted(path.name for path in server.log_dir.iterdir())
        server.post("/v2/models/unknown/infer", ECHO_REQUEST)  # drogon logs the escaped error
        server.process.send_signal(signal.SIGTERM)
        status = server.wait_exit()

    logs = sorted(path.name for path in server.log_dir.iterdir())
    assert (status, no_log_yet) == (0, ["server.log"]), "drogon creates its log at its first line"
    assert logs[1:] == ["server.log"]
    assert logs[0].startswith("drogon.")
    assert logs[0] != "drogon.log"
    assert "ERROR Unhandled exception" in (server.log_dir / logs[0]).read_text()
