"""The AMD Inference Server's comparison: upstream's default command line and the charm's.

Only against a real amdinfer-server build (AMDINFER_PREFIX, as the workload
tests take it: tests/workload/amdinfer_server.py): the stand-in is Python and
would measure nothing of the server. Both commands serve the proteus rock's
echo repository entry with the build's libecho.so, on loopback through the
workload tests' preloaded bind() (the same code path), and get the echo
request:

* upstream: `amdinfer-server` with its defaults but the repository and ports,
  which logs every request to $HOME/.amdinfer/logs/server.log; the model is
  loaded through the repository API, as KServe's model agent loads it;
* charm: the command and environment the charm's amdinfer family puts in its
  Pebble layer (the rock's amdinfer-serve wrapper, `--repository-load-existing`,
  request logging off), with the rock's paths mapped onto this machine.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from prometheus_client.samples import Sample

from bench.comparison import CHARM_LABEL, UPSTREAM_LABEL, ComparisonError, ComparisonSkippedError
from bench.metrics import sample_sum
from bench.processes import process_tree, read_processes
from bench.servers import REPO_ROOT, Command, Endpoint, to_host
from model_server_charm.families import family_for
from model_server_charm.families.amdinfer.family import REPOSITORY, SERVE
from model_server_charm.runtimes import Protocol, Runtime
from scripts.render_charms import juju_defaults
from tests.workload.amdinfer_run import ECHO_REQUEST, make_repository
from tests.workload.amdinfer_server import (
    AMDINFER_PREFIX_ENV,
    AmdinferPrefixError,
    AmdinferServer,
    amdinfer_server,
)

WRAPPER = REPO_ROOT / "rocks" / "proteus-server" / "bin" / "amdinfer-serve"
SERVER_PROGRAM = "amdinfer-server"
MODEL_NAME = "echo"
# amdinfer's count of the inference requests it answered (a summary of their latency).
ANSWERED_COUNT = "amdinfer_request_latency_count"


@dataclass(frozen=True)
class AmdinferComparison:
    """amdinfer-server's default command line and the charm's, on the echo model."""

    runtime: Runtime
    server: AmdinferServer

    @staticmethod
    def compares(runtime: Runtime) -> bool:
        """Every runtime of the family: the model is the rock's echo entry."""
        return True

    @classmethod
    def of(cls, runtime: Runtime, framework: str | None = None) -> AmdinferComparison:
        """The comparison on the build of AMDINFER_PREFIX; ComparisonSkippedError without one."""
        if framework is not None:
            raise ComparisonError(f"--framework: {runtime.display_name} serves its echo model")
        try:
            server = amdinfer_server()
        except AmdinferPrefixError as error:
            raise ComparisonError(str(error)) from error
        if not server.is_real:
            raise ComparisonSkippedError(
                f"{runtime.name}: skipped, {AMDINFER_PREFIX_ENV} is not set: the bench measures"
                " only a real amdinfer-server build (its install prefix;"
                " rocks/proteus-server/README.md says how to build one), not the stand-in"
            )
        return cls(runtime, server)

    @property
    def model_name(self) -> str:
        """The repository entry's name."""
        return MODEL_NAME

    @property
    def protocol(self) -> Protocol:
        """KServe's v2 REST protocol, the one amdinfer speaks."""
        return "v2"

    @property
    def request_json(self) -> str:
        """The echo request: 3 in, 4 out."""
        return json.dumps(ECHO_REQUEST)

    @property
    def charm_workers(self) -> None:
        """amdinfer-server has no worker processes option."""
        return None

    @property
    def max_workers(self) -> None:
        """amdinfer-server has no worker processes option."""
        return None

    def describe(self) -> list[str]:
        """The model and the request."""
        return [
            f"model: the rock's echo repository entry with {self.server.prefix}/lib/libecho.so",
            f"request (v2): {self.request_json}",
        ]

    def build_model(self, scratch: Path) -> Path:
        """The repository with the echo entry."""
        return make_repository(scratch / "models")

    def ceiling(self, model_dir: Path, seconds: float) -> None:
        """No in-process equivalent of a C++ server's worker here."""
        return None

    def upstream_command(self, endpoint: Endpoint, scratch: Path) -> Command:
        """amdinfer-server on the repository and ports; the model loaded as KServe's agent does."""
        home = _home(scratch, "upstream")
        argv = self.server.command(
            [
                f"--model-repository={endpoint.model_dir}",
                f"--http-port={endpoint.http_port}",
                f"--grpc-port={endpoint.grpc_port}",
            ]
        )
        return Command(
            UPSTREAM_LABEL,
            tuple(argv),
            self.server.environment({"HOME": str(home)}),
            cwd=home,  # drogon creates ./uploads
            load_paths=(f"/v2/repository/models/{MODEL_NAME}/load",),
        )

    def charm_command(
        self, endpoint: Endpoint, scratch: Path, label: str = CHARM_LABEL, workers: int = 0
    ) -> Command:
        """The charm's amdinfer-serve command and environment, on this machine's paths."""
        family = family_for(self.runtime)
        config = family.config_from(
            {
                **juju_defaults(self.runtime),
                "http_port": endpoint.http_port,
                "grpc_port": endpoint.grpc_port,
            }
        )
        rock_home = family.environment(config, {})["HOME"]
        paths = {
            SERVE: str(WRAPPER),
            REPOSITORY: str(endpoint.model_dir),
            rock_home: str(_home(scratch, "charm")),
        }
        environment = {
            name: to_host(value, paths) for name, value in family.environment(config, {}).items()
        }
        # amdinfer-serve runs `amdinfer-server` from PATH: the build, kept on loopback.
        environment["PATH"] = f"{self._program_directory(scratch)}{os.pathsep}{os.environ['PATH']}"
        argv = tuple(to_host(argument, paths) for argument in family.command(config))
        return Command(label, argv, environment)

    def lever_commands(self, endpoint: Endpoint, scratch: Path) -> list[Command]:
        """The one lever is the wrapper's logging: upstream's command, then the charm's."""
        return [self.upstream_command(endpoint, scratch), self.charm_command(endpoint, scratch)]

    def origin(self, pid: int) -> str:
        """The amdinfer-server executables running in the process tree."""
        processes = read_processes()
        executables = {
            os.readlink(f"/proc/{member}/exe")
            for member in process_tree(pid, processes)
            if processes[member].name == SERVER_PROGRAM
        }
        found = ", ".join(sorted(executables)) or f"no {SERVER_PROGRAM} process"
        return f"{SERVER_PROGRAM}: {found} (the build of {AMDINFER_PREFIX_ENV})"

    def served_count(self, samples: Sequence[Sample]) -> int:
        """The requests amdinfer's latency summary counted."""
        return round(sample_sum(samples, lambda sample: sample.name == ANSWERED_COUNT))

    def _program_directory(self, scratch: Path) -> Path:
        """A directory whose `amdinfer-server` runs the build (the workload tests' launcher)."""
        directory = scratch / "bin"
        directory.mkdir(exist_ok=True)
        program = directory / SERVER_PROGRAM
        program.write_text(self.server.launcher())
        program.chmod(0o755)
        return directory


def _home(scratch: Path, name: str) -> Path:
    home = scratch / f"{name}-home"
    home.mkdir(exist_ok=True)
    return home
