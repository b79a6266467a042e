"""A KServe rock and its charm agree: same server module, same paths, flags the server knows.

The charm replaces the rock's Pebble service with its own command line, so the
rock must contain what that command line names (the launcher, the server
module, the quiet log configuration), and every flag either of them passes
must be one the server defines. The servers read their flags with
`parse_known_args`, so a misspelt flag would be ignored without a word; here
the server's own parser reads them the same way and every argument it leaves
unparsed is reported.
"""

from __future__ import annotations

from typing import Any

import pytest

from model_server_charm.families.kserve_python import family as kserve_python
from tests.charm_plan import CharmPlan, charm_plan
from tests.charms import KSERVE_CHARMS, ThinCharm
from tests.rocks.rockcraft_projects import (
    LAUNCHER_PREFIX,
    ROCKS,
    ROCKS_DIR,
    RockProject,
    server_arguments,
)
from tests.rocks.server_cli import ServerCli, unknown_flags

ROCKS_BY_NAME = {rock.name: rock for rock in ROCKS}
# Any model location: the flags are what is checked.
MODEL_URI = "gs://bucket/model"
# The charm's two command lines: quiet (the default) and with per-request logging.
OPTION_SETS: list[dict[str, Any]] = [{}, {"log-requests": True}]

# The proteus charm and rock agree by tests/rocks/test_proteus_rock.py.
pytestmark = pytest.mark.parametrize("charm", KSERVE_CHARMS, ids=[c.name for c in KSERVE_CHARMS])


def charm_services(charm: ThinCharm) -> list[CharmPlan]:
    """The charm's service for each option set."""
    services = [charm_plan(charm, {"model-uri": MODEL_URI, **options}) for options in OPTION_SETS]
    if any(tuple(s.argv[: len(LAUNCHER_PREFIX)]) != LAUNCHER_PREFIX for s in services):
        pytest.skip(f"{charm.name} does not run its server through kserve_launcher")
    return services


def rock_of(charm: ThinCharm) -> RockProject:
    """The rock a charm's workload container runs: rocks/<server module>/."""
    module = charm.charm_type.runtime.server_module
    if module not in ROCKS_BY_NAME:
        pytest.fail(f"{charm.name} serves {module}, but there is no {ROCKS_DIR}/{module}/")
    return ROCKS_BY_NAME[module]


def test_rock_serves_the_charm_runtime(charm: ThinCharm) -> None:
    rock = rock_of(charm)
    assert rock.entrypoint_service == charm.charm_type.runtime.service_name
    charm_services(charm)
    assert rock.launched_module == charm.charm_type.runtime.server_module


def test_rock_runs_the_module_the_charm_runs(charm: ThinCharm) -> None:
    """Same interpreter name, launcher and server module as the charm's Pebble service."""
    rock_head = rock_of(charm).service_command().fixed[: len(LAUNCHER_PREFIX) + 1]
    for service in charm_services(charm):
        assert tuple(service.argv[: len(LAUNCHER_PREFIX) + 1]) == rock_head


def test_rock_holds_what_the_charm_names(charm: ThinCharm) -> None:
    """The charm's user, metrics directory and log configuration exist in the rock."""
    rock = rock_of(charm)
    rock_service = rock.services[rock.entrypoint_service]
    installed = {
        f"/{destination}"
        for part in rock.common_parts().values()
        for destination in part.get("organize", {}).values()
    }
    for service in charm_services(charm):
        assert service.user == rock.data["run-user"]
        assert (
            service.environment["PROMETHEUS_MULTIPROC_DIR"]
            == rock_service["environment"]["PROMETHEUS_MULTIPROC_DIR"]
        )
        log_configs = [
            argument.split("=", 1)[1]
            for argument in service.argv
            if argument.startswith("--log_config_file=")
        ]
        assert set(log_configs) <= installed, f"the rock installs only {sorted(installed)}"
    assert {kserve_python.QUIET_LOG_CONFIG, kserve_python.REQUESTS_LOG_CONFIG} <= installed


def test_the_charm_keeps_the_rocks_environment(charm: ThinCharm) -> None:
    """The charm's layer replaces the rock's service, environment included: none may be lost."""
    rock_service = rock_of(charm).services[rock_of(charm).entrypoint_service]
    for service in charm_services(charm):
        kept = {name: service.environment.get(name) for name in rock_service["environment"]}
        assert kept == rock_service["environment"]


def test_server_defines_every_flag(
    charm: ThinCharm, cli_source: str, server_cli: ServerCli
) -> None:
    """Every flag of the charm's and the rock's command lines, by the server's own parser."""
    rock = rock_of(charm)
    command = rock.service_command()
    argvs = {
        **{f"charm{i}": service.argv for i, service in enumerate(charm_services(charm))},
        "rock": command.argv,
        # `docker run <rock> --model_dir=...` replaces the bracketed defaults (README).
        "rock-with-container-args": [
            *command.fixed,
            f"--model_dir={MODEL_URI}",
        ],
    }
    arguments = {name: server_arguments(argv) for name, argv in argvs.items()}
    check = server_cli(
        cli_source, charm.charm_type.runtime.server_module, list(arguments.values())
    )
    for (name, args), error in zip(arguments.items(), check.errors, strict=True):
        assert error is None, f"{name} {args}: {error}"
        assert not unknown_flags(args, check.options), f"{name} {args}: abbreviated or unknown"


def test_misspelt_flag_is_reported(
    charm: ThinCharm, cli_source: str, server_cli: ServerCli
) -> None:
    """The flag check is not vacuous.

    The parser rejects a misspelt flag, and an abbreviation that argparse would
    accept is caught by the exact comparison.
    """
    module = charm.charm_type.runtime.server_module
    misspelt = ["--model_dir=/mnt/models", "--http-port=8080"]
    abbreviated = ["--model_dir=/mnt/models", "--http=8080"]
    check = server_cli(cli_source, module, [misspelt, abbreviated])
    assert check.errors[0] is not None
    assert "unrecognized arguments: --http-port=8080" in check.errors[0]
    assert check.errors[1] is None
    assert unknown_flags(abbreviated, check.options) == ["--http"]
