"""Who runs the charm's server under the real Pebble daemon, and with which `python3`.

The charm's layer runs the server as `_daemon_`, the rocks' run-user. Pebble
can switch to it only when it runs as root and the user exists (`.ci/run`
creates it). The user must then reach an interpreter, the model and its
scratch directories, while the tests' own Python often lives under a home
directory no other user may enter (/root is mode 0700). So the server gets a
venv of its own, build/server-venv-<group>, synced from the uv.lock dependency
group of the tox environment that runs the tests ($WORKLOAD_DEPENDENCY_GROUP:
`workload`, `workload-paddle`, … so the server has the framework of that
environment's cases) onto a base interpreter `_daemon_` can run (kept between
runs: `uv sync` brings it up to date in a second, and uv links the packages
from its cache); models and scratch directories go to a temporary
directory every user may traverse, the scratch directories owned by `_daemon_`.
The repository itself (the launcher, the stand-in servers) must be readable
by `_daemon_`, as the server imports them from there.

Elsewhere (not root, no such user) the services run as the tests' user with
the tests' own `python3`, and the test of the server's uid skips saying why.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.servers import REPO_ROOT, server_base_environment
from model_server_charm.layer import SERVER_USER
from model_server_charm.runtimes import RUNTIMES

# The dependency group of the tests' tox environment (tox sets it); `workload` without tox.
DEPENDENCY_GROUP_ENV = "WORKLOAD_DEPENDENCY_GROUP"
DEFAULT_DEPENDENCY_GROUP = "workload"
VENV_SYNC_TIMEOUT_S = 900
# What the server imports: from the venv, and (PYTHONPATH) from the repository.
SERVER_MODULES = ("kserve", "sklearn", "kserve_launcher", RUNTIMES["sklearn"].server_module)
# Interpreters to build the server's venv on: the tests' own base, then the system's.
BASE_PYTHONS = (Path(sys.base_prefix) / "bin" / "python3", Path("/usr/bin/python3"))


@dataclass(frozen=True)
class ServerRuntime:
    """How the services of the charm's layer run on this machine."""

    user: str | None  # the layer's user, or None: the daemon's own user
    why_not_user: str  # why the services cannot run as the layer's user here
    python_dir: Path  # the directory whose `python3` the services run
    root: Path  # models and scratch directories go here; every user may traverse it

    def directory(self, prefix: str) -> Path:
        """A new directory under `root` that the services' user owns."""
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-", dir=self.root))
        path.chmod(0o755)
        self._hand_over(path)
        return path

    def model_directory(self, prefix: str, build: Callable[[Path], None]) -> Path:
        """A new directory under `root` holding what `build` writes, all of it the user's.

        A builder may write files only their owner can read (safetensors does).
        """
        path = self.directory(prefix)
        build(path)
        for written in path.rglob("*"):
            self._hand_over(written)
        return path

    def _hand_over(self, path: Path) -> None:
        """Make the services' user the owner of `path`."""
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(path, account.pw_uid, account.pw_gid)

    def environment(self) -> dict[str, str]:
        """The Pebble daemon's environment: the servers importable, `python3` first on PATH."""
        environment = server_base_environment()
        environment["PATH"] = os.pathsep.join([str(self.python_dir), environment["PATH"]])
        return environment


@contextmanager
def prepared_server_runtime() -> Generator[ServerRuntime]:
    """Prepare the services' user and interpreter; remove what was made for them after."""
    root = Path(tempfile.mkdtemp(prefix="kserve-pebble-"))
    root.chmod(0o755)
    try:
        reason = _why_not_as(SERVER_USER)
        base = None if reason else _base_python(SERVER_USER)
        if base is None:
            tried = ", ".join(str(path) for path in BASE_PYTHONS)
            reason = reason or f"no Python interpreter that {SERVER_USER} can run (tried {tried})"
            yield ServerRuntime(None, reason, Path(sys.executable).parent, root)
        else:
            venv = _sync_server_venv(base, SERVER_USER)
            yield ServerRuntime(SERVER_USER, "", venv / "bin", root)
    finally:
        shutil.rmtree(root)


def _why_not_as(user: str) -> str:
    """Why Pebble cannot run the services as `user` here (empty when it can)."""
    if os.geteuid() != 0:
        return f"the tests do not run as root, so Pebble cannot switch to {user}"
    try:
        pwd.getpwnam(user)
    except KeyError:
        return f"no user {user} on this machine (.ci/run creates it)"
    return ""


def _base_python(user: str) -> Path | None:
    """The first base interpreter `user` can run."""
    for python in BASE_PYTHONS:
        if python.is_file() and _runs_as(user, [str(python), "-c", "pass"]):
            return python
    return None


def _runs_as(user: str, argv: list[str], environment: dict[str, str] | None = None) -> bool:
    try:
        result = subprocess.run(
            argv, user=user, env=environment, capture_output=True, timeout=60, check=False
        )
    except PermissionError:  # the user may not even execute it
        return False
    return result.returncode == 0


def _sync_server_venv(base: Path, user: str) -> Path:
    """Sync the tests' dependency group into its server venv on `base`, with bytecode.

    Bytecode matters twice: the user cannot write __pycache__ there, and kserve
    kills a worker that takes over 5 s to answer its first ping.
    """
    uv = shutil.which("uv")
    if uv is None:
        raise RuntimeError("uv is not on PATH: it builds the venv the server runs in as " + user)
    group = os.environ.get(DEPENDENCY_GROUP_ENV) or DEFAULT_DEPENDENCY_GROUP
    venv = REPO_ROOT / "build" / f"server-venv-{group}"
    environment = {name: value for name, value in os.environ.items() if name != "VIRTUAL_ENV"}
    environment["UV_PROJECT_ENVIRONMENT"] = str(venv)
    command = [
        uv, "sync", "--frozen", "--only-group", group, "--compile-bytecode",
        "--python", str(base), "--quiet",
    ]  # fmt: skip
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=VENV_SYNC_TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr}")
    # Found, not imported: importing kserve takes seconds, finding it is what may fail.
    python = str(venv / "bin" / "python3")
    finds = f"import importlib.util as u; assert all(map(u.find_spec, {SERVER_MODULES!r}))"
    if not _runs_as(user, [python, "-c", finds], server_base_environment()):
        raise RuntimeError(
            f"{user} cannot find {', '.join(SERVER_MODULES)} with {python}: the server's"
            f" user must be able to read {venv} and {REPO_ROOT}"
        )
    return venv
