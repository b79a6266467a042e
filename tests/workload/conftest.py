"""Fixtures of the workload tests: each charm's case, the real Pebble daemon's binary and user."""

from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.workload.charm_cases import CASE_PARAMS, CharmCase
from tests.workload.pebble_daemon import PEBBLE_BIN_ENV, pebble_binary_path
from tests.workload.server_runtime import ServerRuntime, prepared_server_runtime


@pytest.fixture(scope="session")
def pebble_bin() -> Path:
    """The Pebble binary; skip, saying where it was looked for, when it is not installed."""
    binary = pebble_binary_path()
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.skip(
            f"no Pebble binary at {binary} (${PEBBLE_BIN_ENV}, else build/bin/pebble):"
            " scripts/install_pebble.sh installs it, and `tox -e workload` runs that script"
        )
    return binary


@pytest.fixture(scope="session")
def server_runtime(pebble_bin: Path) -> Generator[ServerRuntime]:
    """The user and interpreter the charm's services run with (prepared once Pebble is there)."""
    with prepared_server_runtime() as prepared:
        yield prepared


@pytest.fixture(scope="module", params=CASE_PARAMS)
def case(request: pytest.FixtureRequest) -> CharmCase:
    """Each charm's case in turn (tests/workload/charm_cases.py), for a module's tests of it."""
    return request.param
