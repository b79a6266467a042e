"""The proteus-server rock: its service contract, its parts, and the packed rock serving echo.

Every rock's parts are validated with craft_parts by test_rockcraft_yaml.py;
here are the proteus-specific promises: the service runs the log wrapper with
flags amdinfer-server's own parser accepts, the environment the FPGA workers
need is set, the FPGA parts can be left out, every source is pinned, trantor
gets the fix amdinfer's own build applies, both amdinfer builds configure
alike, and the b64 CMake package the build needs works with CMake. The last
tests run the packed rock with a container engine (they skip, saying why,
where there is none).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import craft_parts
import pytest

from tests.charm_plan import charm_plan
from tests.charms import PROTEUS
from tests.rocks.rockcraft_projects import ROCKS_DIR, load_rock
from tests.rocks.test_rock_run import host_port, http, load_image, packed_rock, run
from tests.workload.amdinfer_run import ECHO_REQUEST
from tests.workload.standins.amdinfer.cli import OptionError, parse

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli wherever Python has no tomllib
    import tomli as tomllib  # pyright: ignore[reportMissingImports]

ROCK_DIR = ROCKS_DIR / "proteus-server"
ROCK = load_rock(ROCK_DIR / "rockcraft.yaml")
SERVICE = "proteus-server"
WRAPPER = "/usr/local/bin/amdinfer-serve"
RUN_USER_ID = "584792"  # _daemon_
FPGA_PARTS = {"xrt", "vitis-ai-runtime", "amdinfer-xmodel-worker"}
FPGA_VARIABLES = ("XLNX_VART_FIRMWARE", "AKS_ROOT", "AKS_XMODEL_ROOT")
HTTP_PORT = 8998
ECHO_REPOSITORY = "/usr/local/share/amdinfer/repository"
READY_TIMEOUT_S = 120.0
METRIC_NAMES = (
    "amdinfer_requests_ingress_total",
    "amdinfer_pipeline_ingress_total",
    "amdinfer_pipeline_egress_total",
    "amdinfer_queue_sizes_total",
    "amdinfer_request_latency",
)
# A pinned remote source: a git tag or commit, or an archive whose URL names a version.
VERSIONED_ARCHIVE = re.compile(r"[/-]v?\d+(\.\d+)+")
AMDINFER_PARTS = ("amdinfer-server", "amdinfer-xmodel-worker")
# vcpkg's trantor fix in amdinfer v0.4.0's overlay port, and its git blob id there.
TRANTOR_FIX = "external/vcpkg/ports/trantor/fix-ares-destructor.patch"
TRANTOR_FIX_BLOB = "03726b2b6f1043db5920babf3d004102bfded04a"
B64_CONFIG = ROCK_DIR / "cmake" / "unofficial-b64-config.cmake"
CMAKE_TIMEOUT_S = 120


def service() -> dict[str, Any]:
    return ROCK.services[SERVICE]


def test_service_runs_the_log_wrapper_as_the_run_user():
    assert ROCK.entrypoint_service == SERVICE
    assert service()["startup"] == "enabled"
    assert service()["on-failure"] == "restart", "Pebble restarts a server that crashed"
    assert ROCK.data["run-user"] == "_daemon_"
    assert ROCK.service_command().fixed[0] == WRAPPER


def test_the_wrapper_is_installed_from_the_rock_directory():
    installers = [
        (name, origin)
        for name, part in ROCK.parts.items()
        for origin, destination in part.get("organize", {}).items()
        if f"/{destination}" == WRAPPER
    ]
    assert len(installers) == 1, "exactly one part installs the wrapper"
    name, origin = installers[0]
    script = ROCK_DIR / ROCK.parts[name]["source"] / origin
    assert os.access(script, os.X_OK), f"{script} is not executable"
    subprocess.run(["sh", "-n", str(script)], check=True, timeout=10)


@pytest.mark.parametrize(
    "extra", [[], [f"--model-repository={ECHO_REPOSITORY}", "--http-port=8080"]]
)
def test_command_flags_are_amdinfer_servers_own(extra: list[str]):
    """Default and container-given arguments, read by amdinfer-server's cxxopts rules."""
    command = ROCK.service_command()
    arguments = [*command.fixed[1:], *(extra or command.defaults)]

    options = parse(arguments)

    assert options.repository_monitoring
    assert options.model_repository == (ECHO_REPOSITORY if extra else "/mnt/models")
    assert options.http_port == (8080 if extra else HTTP_PORT)


@pytest.mark.parametrize(
    "options", [{}, {"log-requests": True, "http-port": 9000, "grpc-port": 9001}]
)
def test_the_charms_service_runs_the_rocks_wrapper(options: dict[str, Any]):
    """The charm replaces the rock's command: same wrapper, same user, flags amdinfer knows."""
    plan = charm_plan(PROTEUS, options)

    parsed = parse(plan.argv[1:])

    assert plan.argv[0] == WRAPPER
    assert plan.user == ROCK.data["run-user"]
    assert parsed.model_repository == "/mnt/models"
    assert parsed.http_port == options.get("http-port", HTTP_PORT)


def test_flag_check_is_not_vacuous():
    with pytest.raises(OptionError, match="http_port"):
        parse([*ROCK.service_command().fixed[1:], "--http_port=8080"])


def test_home_is_created_for_the_run_user():
    home = service()["environment"]["HOME"]
    preparing = [part.get("override-prime", "") for part in ROCK.parts.values()]
    assert any(
        f"-o {RUN_USER_ID} -g {RUN_USER_ID}" in script and f'"${{CRAFT_PRIME}}{home}"' in script
        for script in preparing
    ), f"no part creates {home} owned by {RUN_USER_ID}"


def configure_flags(part: str) -> dict[str, str]:
    """The -D flags of the part's `cmake -S . -B build` line, by name."""
    script = ROCK.parts[part]["override-build"].replace("\\\n", " ")
    (line,) = [line for line in script.splitlines() if line.strip().startswith("cmake -S ")]
    flags = (word.removeprefix("-D") for word in shlex.split(line) if word.startswith("-D"))
    return dict(flag.split("=", 1) for flag in flags)


def test_fpga_and_library_environment():
    environment = service()["environment"]
    for variable in FPGA_VARIABLES:
        assert environment[variable].startswith("/"), variable
    prefix = configure_flags("amdinfer-server")["CMAKE_INSTALL_PREFIX"]
    assert f"{prefix}/lib" in environment["LD_LIBRARY_PATH"].split(":")


def test_both_amdinfer_builds_configure_alike_but_for_vitis():
    server, xmodel = (configure_flags(part) for part in AMDINFER_PARTS)
    differing = {
        name for name in server.keys() | xmodel.keys() if server.get(name) != xmodel.get(name)
    }

    assert differing == {"AMDINFER_ENABLE_VITIS", "CMAKE_PREFIX_PATH"}
    assert (server["AMDINFER_ENABLE_VITIS"], xmodel["AMDINFER_ENABLE_VITIS"]) == ("OFF", "ON")
    assert xmodel["CMAKE_PREFIX_PATH"].startswith(server["CMAKE_PREFIX_PATH"] + ";")
    assert server["CMAKE_BUILD_TYPE"] == "Release"
    for part, build in zip(AMDINFER_PARTS, ("build -- -j", "--target workerXmodel"), strict=True):
        script = ROCK.parts[part]["override-build"]
        assert script.index("--target lib_config lib_grpc") < script.index(build), part


def test_fpga_parts_can_be_left_out():
    assert set(ROCK.parts) >= FPGA_PARTS
    cpu_only = {name: part for name, part in ROCK.parts.items() if name not in FPGA_PARTS}
    for name, part in cpu_only.items():
        assert not set(part.get("after", [])) & FPGA_PARTS, f"{name} depends on an FPGA part"
        craft_parts.validate_part(part)


def test_remote_sources_are_pinned():
    for name, part in ROCK.parts.items():
        source = str(part.get("source", ""))
        if "://" not in source:
            continue
        if part.get("source-type") == "git" or source.endswith(".git"):
            assert part.get("source-tag") or part.get("source-commit"), name
        else:
            assert VERSIONED_ARCHIVE.search(source), f"{name}: {source} names no version"


def test_trantor_gets_the_fix_amdinfers_own_build_applies():
    """Vcpkg's patch, read from the amdinfer tag the server part builds, checked by blob id."""
    script = ROCK.parts["trantor"]["override-pull"]
    clone = next(line for line in script.replace("\\\n", " ").splitlines() if "git clone" in line)

    assert ROCK.parts["trantor"]["source"].endswith("/v1.5.11.tar.gz")
    assert f"--branch {ROCK.parts['amdinfer-server']['source-tag']} " in clone
    assert ROCK.parts["amdinfer-server"]["source"] in clone
    assert f"fix={TRANTOR_FIX}" in script
    assert f'rev-parse "HEAD:${{fix}}")" = {TRANTOR_FIX_BLOB}' in script
    assert script.index("rev-parse") < script.index("| patch -p1")
    assert "git" in ROCK.parts["trantor"]["build-packages"]


def test_b64_cmake_package_is_installed_where_the_build_looks():
    script = ROCK.parts["amdinfer-server"]["override-build"]
    prefix_path = configure_flags("amdinfer-server")["CMAKE_PREFIX_PATH"].split(";")

    assert '"${CRAFT_PROJECT_DIR}/cmake/unofficial-b64-config.cmake"' in script
    assert "${CRAFT_PART_INSTALL}/usr/local" in prefix_path
    assert (
        '"${CRAFT_PART_INSTALL}/usr/local/lib/cmake/unofficial-b64/unofficial-b64-config.cmake"'
        in script
    )


def test_b64_cmake_package_defines_the_target_amdinfer_links(tmp_path: Path):
    """CMake itself finds the package in a prefix laid out as the part's, over libb64-dev."""
    cmake = shutil.which("cmake")
    if (
        cmake is None
        or shutil.which("cc") is None
        or not Path("/usr/include/b64/encode.h").exists()
    ):
        pytest.skip("needs cmake, cc and libb64-dev (the amdinfer-server part's build packages)")
    package = tmp_path / "prefix" / "lib" / "cmake" / "unofficial-b64"
    package.mkdir(parents=True)
    shutil.copy(B64_CONFIG, package / B64_CONFIG.name)
    (tmp_path / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.16)\nproject(probe LANGUAGES C)\n"
        "find_package(unofficial-b64 CONFIG REQUIRED)\n"
        "get_target_property(kind unofficial::b64::b64 IMPORTED)\n"
        "get_target_property(library unofficial::b64::b64 IMPORTED_LOCATION)\n"
        'message(STATUS "b64: ${kind} ${library}")\n'
    )

    result = subprocess.run(
        [cmake, "-S", str(tmp_path), "-B", str(tmp_path / "build"),
         f"-DCMAKE_PREFIX_PATH={tmp_path / 'prefix'}"],
        capture_output=True, text=True, timeout=CMAKE_TIMEOUT_S, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert re.search(r"b64: TRUE /\S*/libb64\.so", result.stdout), result.stdout


def test_echo_entry_matches_the_design():
    config = tomllib.loads((ROCK_DIR / "repository" / "echo" / "config.toml").read_text())
    tensor = {"name": "echo", "datatype": "UINT32", "shape": [1]}

    assert (config["name"], config["platform"]) == ("echo", "amdinfer_cpp")
    assert (config["inputs"], config["outputs"]) == ([tensor], [tensor])
    assert "repository/echo/config.toml" in ROCK.parts["amdinfer-server"]["override-build"]


# --- The packed rock in a container engine -------------------------------------------


@pytest.fixture(scope="module")
def image(engine: str) -> str:
    return load_image(engine, packed_rock(ROCK), f"{ROCK.name}:{ROCK.data['version']}-test")


@pytest.fixture
def container_of(engine: str, image: str) -> Iterator[Any]:
    """Start the rock with these container arguments; yields (container, base URL)."""
    started: list[str] = []

    def start(*arguments: str) -> tuple[str, str]:
        publish = f"127.0.0.1::{HTTP_PORT}"
        container = run(engine, "run", "--detach", "--publish", publish, image, *arguments)
        started.append(container.stdout.strip())
        return started[-1], f"http://127.0.0.1:{host_port(engine, started[-1], HTTP_PORT)}"

    yield start
    for container in started:
        subprocess.run([engine, "rm", "--force", container], capture_output=True, check=False)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while http("GET", url)[0] != 200:
        assert time.monotonic() < deadline, f"{url} not 200 within {READY_TIMEOUT_S} s"
        time.sleep(1)


def test_rock_serves_echo_through_the_worker_api(engine: str, container_of: Any):
    container, base = container_of()
    wait_for(f"{base}/v2/health/live")

    loaded = http("POST", f"{base}/v2/workers/cplusplus/load", {"model": "echo"})
    status, answer = http("POST", f"{base}/v2/models/cplusplus/infer", ECHO_REQUEST)
    metrics = http("GET", f"{base}/metrics")[1]
    logs = run(engine, "logs", container).stdout
    user = run(engine, "exec", container, "id", "-u").stdout.strip()
    server_log = f"{service()['environment']['HOME']}/.amdinfer/logs/server.log"

    assert loaded == (200, "cplusplus")
    assert (status, json.loads(answer)["outputs"][0]["data"]) == (200, [4])
    assert all(f"# TYPE {name} " in metrics for name in METRIC_NAMES)
    assert "Received modelInfer request for cplusplus" in logs, "server.log reaches Pebble"
    assert user == RUN_USER_ID
    run(engine, "exec", container, "test", "-p", server_log)  # a FIFO, not a growing file


def test_rock_serves_its_echo_repository_entry(container_of: Any):
    _, base = container_of(f"--model-repository={ECHO_REPOSITORY}", f"--http-port={HTTP_PORT}")
    wait_for(f"{base}/v2/models/echo/ready")

    status, answer = http("POST", f"{base}/v2/models/echo/infer", ECHO_REQUEST)

    assert (status, json.loads(answer)["outputs"][0]["data"]) == (200, [4])
