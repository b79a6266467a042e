"""The launcher's parts that need no server.

The last error line, a worker's start-up grace, the dealing of connections to workers that load
their own model, which model directory they download once, and which copies a killed launcher left.
"""

from __future__ import annotations

import selectors
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kserve_launcher import DOWNLOAD_PREFIX, model_download, worker_flags
from kserve_launcher.dealer import ConnectionDealer
from kserve_launcher.last_error import MAX_ERROR_CHARACTERS, LastError
from kserve_launcher.model_download import decode_model_dir, encode_model_dir, is_remote
from kserve_launcher.worker_start import StartWatch

TRACEBACK = b"""Traceback (most recent call last):
  File "/srv/huggingfaceserver/__main__.py", line 12, in <module>
    main()
    ^^^^^^
RuntimeError: Failed to infer device type
"""
CHAINED = b"""Traceback (most recent call last):
  File "a.py", line 1, in <module>
KeyError: 'model'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "a.py", line 3, in <module>
ValueError: no model named model
"""
LOCATE = "failed to locate model file for model model under dir /mnt/models"
UNFINISHED = b'Traceback (most recent call last):\n  File "x"\nOSError: no newline'
KSERVE_ERROR = (
    b"2026-12-07 05:00:01.123 42 kserve ERROR [__main__.py:<module>():39] failed to locate"
    b" model file for model model under dir /mnt/models\n"
)


@pytest.mark.parametrize(
    ("output", "line"),
    [
        (TRACEBACK, "RuntimeError: Failed to infer device type"),
        (CHAINED, "ValueError: no model named model"),
        (KSERVE_ERROR, LOCATE),
        (b"2026-12-07 05:00:01.123 42 uvicorn.error ERROR:     Bind failed\n", "Bind failed"),
        (b"usage: x\nlgbserver: error: argument --nthread: invalid int value: 'a'\n",
         "lgbserver: error: argument --nthread: invalid int value: 'a'"),
        (KSERVE_ERROR + TRACEBACK, "RuntimeError: Failed to infer device type"),
        (TRACEBACK + KSERVE_ERROR, LOCATE),
        (b"INFO all is well\nWARNING: almost\n", ""),
        (UNFINISHED, "OSError: no newline"),
    ],
)  # fmt: skip
def test_the_last_error_line_is_kept(output: bytes, line: str):
    errors = LastError()

    for start in range(0, len(output), 7):  # as the pipe gives it: any pieces
        errors.feed(output[start : start + 7])
    errors.finish()

    assert errors.line == line


@pytest.mark.parametrize("length", [MAX_ERROR_CHARACTERS, MAX_ERROR_CHARACTERS + 1])
def test_a_long_error_line_is_cut(length: int):
    errors = LastError()

    errors.feed(b"x ERROR " + b"m" * length + b"\n")

    assert errors.line == "m" * MAX_ERROR_CHARACTERS


class Process:
    """A worker process as kserve's RESTServerProcess holds it."""

    def __init__(self, alive: bool = True):
        self.alive = alive
        self.pid = 7

    def is_alive(self) -> bool:
        return self.alive


class Connection:
    """The parent's end of kserve's ping pipe."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.answers = 0

    def send(self, message: bytes) -> None:
        self.sent.append(message)

    def poll(self, timeout: float) -> bool:
        assert timeout == 0  # the grace never blocks kserve's event loop
        return self.answers > 0

    def recv(self) -> bytes:
        self.answers -= 1
        return b"pong"


@pytest.mark.parametrize(
    ("grace_s", "alive", "answers", "counts_alive"),
    [
        (300.0, True, 0, True),  # still starting, within the grace
        (0.0, True, 0, False),  # the grace ran out: kserve replaces it
        (300.0, False, 0, False),  # the process is gone
        (300.0, True, 1, True),  # it answered
    ],
)
def test_a_starting_worker_is_alive_while_its_process_runs_within_the_grace(
    grace_s: float, alive: bool, answers: int, counts_alive: bool
):
    connection = Connection()
    connection.answers = answers
    watch = StartWatch()

    first = watch.alive(Process(alive), connection, grace_s)
    second = watch.alive(Process(alive), connection, grace_s)

    assert (first and second) == counts_alive
    assert connection.sent == ([b"ping"] if alive else [])  # one ping, however long it takes
    assert watch.answered == (answers > 0 and alive)


def _dealer_on_loopback(workers: int) -> tuple[ConnectionDealer, list[socket.socket], int]:
    """A dealer of a loopback port (the kernel picks it), with a channel to each worker."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.bind(("127.0.0.1", 0))
    dealer = ConnectionDealer(listener, selectors.DefaultSelector())
    worker_ends = [dealer.open_channel(worker) for worker in range(workers)]
    return dealer, worker_ends, listener.getsockname()[1]


def _dealt(worker_end: socket.socket) -> list[socket.socket]:
    """The connections a worker's end of its channel holds now."""
    worker_end.setblocking(False)
    connections = []
    while True:
        try:
            _, descriptors, _, _ = socket.recv_fds(worker_end, 1, 1)
        except BlockingIOError:
            return connections
        connections += [socket.socket(fileno=descriptor) for descriptor in descriptors]


def test_connections_opened_at_once_are_dealt_in_turn_to_the_serving_workers():
    dealer, worker_ends, port = _dealer_on_loopback(2)
    dealer.worker_serves(0)
    dealer.worker_serves(1)
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(16)]

    dealer.deal()

    dealt = [_dealt(end) for end in worker_ends]
    assert [len(connections) for connections in dealt] == [8, 8]
    peers = {connection.getpeername() for connections in dealt for connection in connections}
    assert peers == {client.getsockname() for client in clients}
    assert all(c.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for c in dealt[0])


def test_the_port_refuses_connections_until_a_worker_serves():
    dealer, _, port = _dealer_on_loopback(1)

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port))
    dealer.worker_serves(0)
    with socket.create_connection(("127.0.0.1", port)):
        assert dealer.listening
    dealer.close_channel(0)
    assert not dealer.listening  # accepts nothing while no worker serves


def test_a_stopping_server_refuses_new_connections():
    dealer, _, port = _dealer_on_loopback(1)
    dealer.worker_serves(0)

    dealer.stop()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port))
    dealer.worker_serves(0)  # a worker reporting late changes nothing
    assert not dealer.listening


def test_a_worker_whose_channel_is_gone_gets_no_connection():
    dealer, worker_ends, port = _dealer_on_loopback(2)
    dealer.worker_serves(0)
    dealer.worker_serves(1)
    worker_ends[0].close()  # the worker ended before the launcher heard of it
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]

    dealer.deal()

    assert len(_dealt(worker_ends[1])) == len(clients)


@pytest.mark.parametrize(
    ("model_dir", "remote"),
    [
        ("gs://kfserving-examples/models/sklearn/1.0/model", True),
        ("s3://models/iris/v1", True),
        ("https://example.com/model.joblib", True),
        ("HF://org/model", True),
        ("/mnt/models", False),
        ("file:///mnt/models", False),
        ("models/iris", False),
        ("", False),
        ("/tmp/a://b", False),
    ],
)
def test_only_a_uri_that_is_not_a_local_file_is_downloaded_once(model_dir: str, remote: bool):
    assert is_remote(model_dir) is remote


@pytest.mark.parametrize("path", ["/tmp/kserve-model-x", "/tmp/a  b\tc\n", '/tmp/modèle/"x"'])
def test_a_model_directory_is_one_word_of_a_status_line_and_comes_back_whole(path: str):
    word = encode_model_dir(path)

    assert word.split() == [word]
    assert decode_model_dir(word) == path


@pytest.mark.parametrize("word", ["", "not json", '"', "42", '""', '["/tmp"]'])
def test_what_is_not_a_model_directory_is_none(word: str):
    assert decode_model_dir(word) is None


def test_the_worker_flags_are_read_as_kserves_parser_reads_them():
    arguments = ["--model_name=m", "--workers=3", "--model_dir=gs://b/m", "--http_port", "9000"]

    flags = worker_flags([*arguments, "--workers=2"])

    assert flags == (2, 9000, "gs://b/m")
    assert worker_flags(["--workers=two"]) is None


# A launcher's first process as far as its copy goes: it holds the lock, then waits to be killed.
HOLD_A_COPY = (
    "import sys, time; from kserve_launcher.model_download import hold;"
    " hold(sys.argv[1]); print('held', flush=True); time.sleep(60)"
)


def test_a_copy_is_removed_once_the_process_holding_it_has_ended(tmp_path: Path):
    copy, being_made = tmp_path / f"{DOWNLOAD_PREFIX}a", tmp_path / f"{DOWNLOAD_PREFIX}b"
    for directory in (copy, being_made, tmp_path / "other"):
        directory.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_A_COPY, copy], stdout=subprocess.PIPE)
    try:
        held = holder.stdout.readline() if holder.stdout else b""
        while_held = model_download.remove_abandoned(tmp_path, DOWNLOAD_PREFIX)
    finally:
        holder.kill()  # SIGKILL: nothing of its own removes the copy
        holder.wait()

    removed = model_download.remove_abandoned(tmp_path, DOWNLOAD_PREFIX)

    assert (held, while_held, removed) == (b"held\n", [], [copy])
    assert sorted(path.name for path in tmp_path.iterdir()) == [being_made.name, "other"]
