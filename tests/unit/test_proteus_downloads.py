"""Proteus's model repository against hostile downloads, files and Pebble answers.

Every fault of a model's download (tests/unit/hostile_http.py sends what
http.client chokes on) is a Blocked status naming the model, and the
repository is left as it was: no file, no config.toml, no load request.
Files in the repository that are not UTF-8, and a repository that does not
exist yet, never make a hook raise.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing
from scenario import mocking

from model_server_charm.families.amdinfer import download
from tests.charms import PROTEUS, ThinCharm
from tests.unit.fake_amdinfer import FakeAmdinfer
from tests.unit.hostile_http import serve_hostile
from tests.unit.proteus_states import ECHO, after, repository_model, state


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


@pytest.fixture
def hostile(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The hostile server's base URL; reads time out after 0.5 s, downloads after 1 s."""
    monkeypatch.setattr(download, "READ_TIMEOUT_S", 0.5)
    monkeypatch.setattr(download, "DEADLINE_S", 1.0)
    with serve_hostile() as base:
        yield base


LIMIT = "the file is over the 1 MiB limit{}: raise download-limit-mib"
# (the model's URI, {base} for the hostile server; the reason the status gives)
DOWNLOAD_FAULTS = [
    ("http://127.0.0.1:abc/m.so", "InvalidURL: nonnumeric port: 'abc'"),
    (
        "http://127.0.0.1:99999999999999999999/m.so",
        "OverflowError: Python int too large to convert to C long",
    ),
    (
        f"http://{'a' * 64}.example/m.so",
        "UnicodeError: encoding with 'idna' codec failed (UnicodeError: label empty or too long)",
    ),
    ("http://127.0.0.1:1/m.so", "[Errno 111] Connection refused"),
    ("{base}/bad-status/m.so", "BadStatusLine: HELLO THERE"),
    ("{base}/long-header/m.so", "LineTooLong: got more than 65536 bytes when reading header line"),
    ("{base}/incomplete/m.so", "the connection closed after 10 of its 100 bytes"),
    ("{base}/chunk-cut/m.so", "IncompleteRead: IncompleteRead(0 bytes read)"),
    ("{base}/reset/m.so", "ConnectionResetError: [Errno 104] Connection reset by peer"),
    ("{base}/stall/m.so", "TimeoutError: timed out"),
    ("{base}/declared-too-large/m.so", LIMIT.format(" (2097152 bytes)")),
    ("{base}/streamed-too-large/m.so", LIMIT.format("")),
    ("{base}/not-found/m.so", "HTTP 404 Not Found"),
    ("{base}/redirect-ftp/m.so", "unknown url type: ftp"),
    (
        "{base}/redirect-file/m.so",
        "HTTP 302 Found - Redirection to url 'file:///etc/passwd' is not allowed",
    ),
]


@pytest.mark.parametrize(("uri", "reason"), DOWNLOAD_FAULTS)
def test_a_download_fault_blocks_naming_the_model_and_changes_nothing(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    repository: testing.Mount,
    hostile: str,
    uri: str,
    reason: str,
):
    uri = uri.format(base=hostile)
    models = json.dumps([repository_model(uri)])
    options = {"models": models, "download-limit-mib": 1}
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, **options))
    assert out.unit_status == testing.BlockedStatus(
        f"model adder: cannot fetch {uri!r}: {reason}; fix the models option"
    )
    assert list(Path(repository.source).iterdir()) == []
    assert amdinfer.posts("/v2/repository") == []
    assert amdinfer.crashes == []


def test_a_download_that_trickles_stops_at_the_deadline(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount, hostile: str
):
    uri = f"{hostile}/trickle/m.so"
    out = ctx.run(
        ctx.on.config_changed(),
        state(amdinfer.port, repository, models=json.dumps([repository_model(uri)])),
    )
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith(f"model adder: cannot fetch {uri!r}: not done after")
    assert list(Path(repository.source).iterdir()) == []
    assert amdinfer.posts("/v2/repository") == []


def test_a_refused_push_of_the_model_file_writes_no_marker(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    repository: testing.Mount,
    monkeypatch: pytest.MonkeyPatch,
):
    def refusing(*_: Any, **__: Any) -> None:
        raise pebble.PathError("generic-file-error", "write /mnt/models/adder/1/m.so: disk full")

    monkeypatch.setattr(mocking._MockPebbleClient, "push", refusing)
    amdinfer.files["m.so"] = b"\x7fELF"
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/m.so")])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    assert out.unit_status == testing.WaitingStatus(
        "cannot write /mnt/models/adder/1/m.so: Pebble: generic-file-error - write"
        " /mnt/models/adder/1/m.so: disk full; retrying on the next hook"
    )
    assert list(Path(repository.source).rglob("*")) == []
    assert amdinfer.posts("/v2/repository") == []


NOT_UTF8 = b"\xff\xfe\x80 not UTF-8 \xc3"


@pytest.mark.parametrize(
    "garbled", ["adder/config.toml", "adder/.written-by-charm", ".workers-loaded-by-charm.json"]
)
def test_files_that_are_not_utf8_in_the_repository_are_rewritten(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount, garbled: str
):
    amdinfer.files["m.so"] = b"\x7fELF"
    uri = f"{amdinfer.base_url}/files/m.so"
    models = json.dumps([repository_model(uri), ECHO])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    (Path(repository.source) / garbled).write_bytes(NOT_UTF8)
    out = ctx.run(ctx.on.update_status(), after(out, amdinfer.port, models=models))
    root = Path(repository.source)
    assert out.unit_status == testing.ActiveStatus(
        f"models adder, echo ready on :{amdinfer.port} (v2)"
    )
    assert (root / "adder" / ".written-by-charm").read_text() == uri
    assert 'name = "adder"' in (root / "adder" / "config.toml").read_text()
    assert json.loads((root / ".workers-loaded-by-charm.json").read_text()) == {
        "echo": "cplusplus"
    }


MISSING = pebble.APIError({}, 404, "Not Found", "stat /mnt/models: no such file or directory")
LOCKED = pebble.APIError({}, 500, "Internal Server Error", "cannot acquire state lock")


@pytest.mark.parametrize(
    ("fault", "status"),
    [
        (None, "active"),  # Scenario's own Pebble: a 404 for the missing directory
        (MISSING, "active"),
        (pebble.PathError("not-found", "stat /mnt/models: no such file"), "active"),
        (LOCKED, "waiting"),
    ],
    ids=["no-repository-yet", "api-error-404", "path-error", "api-error-500"],
)
def test_a_repository_that_does_not_exist_yet_holds_no_directories(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    monkeypatch: pytest.MonkeyPatch,
    fault: pebble.Error | None,
    status: str,
):
    listing = mocking._MockPebbleClient.list_files

    def failing(client: mocking._MockPebbleClient, path: str, **options: Any) -> Any:
        if path == "/mnt/models" and fault is not None:
            raise fault
        return listing(client, path, **options)

    monkeypatch.setattr(mocking._MockPebbleClient, "list_files", failing)
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, models=json.dumps([ECHO])))
    assert out.unit_status == (
        testing.ActiveStatus(f"models echo ready on :{amdinfer.port} (v2)")
        if status == "active"
        else testing.WaitingStatus(
            f"cannot list /mnt/models: Pebble: {LOCKED}; retrying on the next hook"
        )
    )
    assert amdinfer.loaded == {"cplusplus"}


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("size", "status", "message"),
    [
        (MIB, "active", "models adder ready on :{port} (v2)"),
        (
            MIB + 1,
            "blocked",
            "model adder: cannot fetch '/srv/m.so': the file is over the 1 MiB limit: raise"
            " download-limit-mib; fix the models option",
        ),
        (
            None,
            "waiting",
            "cannot read /srv/m.so: Pebble: not-found - stat /srv/m.so: no such file or"
            " directory; retrying on the next hook",
        ),
    ],
    ids=["1MiB", "1MiB-plus-1", "missing"],
)
def test_a_model_file_of_the_server_container_is_held_to_the_same_limit(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    repository: testing.Mount,
    tmp_path: Path,
    size: int | None,
    status: str,
    message: str,
):
    (tmp_path / "srv").mkdir()
    if size is not None:
        (tmp_path / "srv" / "m.so").write_bytes(b"x" * size)
    srv = testing.Mount(location="/srv", source=tmp_path / "srv")
    server = testing.Container(
        "server", can_connect=True, mounts={"models": repository, "srv": srv}
    )
    options = {"models": json.dumps([repository_model("/srv/m.so")]), "download-limit-mib": 1}
    config = {"http-port": amdinfer.port, **options}
    out = ctx.run(ctx.on.config_changed(), testing.State(config=config, containers={server}))
    assert (out.unit_status.name, out.unit_status.message) == (
        status,
        message.format(port=amdinfer.port),
    )
    written = (Path(repository.source) / "adder" / "1" / "m.so").exists()
    assert written == (status == "active")
