"""The KServe rocks of this repository as the tests see them: rockcraft.yaml, parsed.

The KServe rocks are those listed in rocks/rocks.yaml and rendered from the
shared template, so a new one is covered by the tests without editing them.
Other rocks (rocks/proteus-server) have their own shape and their own tests;
rocks/common holds the files the KServe rocks share.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scripts.kserve_rocks import ROCKS_DIR, KServeRock, load_kserve_rocks

COMMON_DIR = ROCKS_DIR / "common"
# What the rocks' services run; the charms run the same launcher (kserve_python.LAUNCHER_MODULE).
LAUNCHER_PREFIX = ("python3", "-m", "kserve_launcher")


def server_arguments(argv: list[str]) -> list[str]:
    """The server's own arguments: what follows `python3 -m kserve_launcher <module>`."""
    return argv[len(LAUNCHER_PREFIX) + 1 :]


@dataclass(frozen=True)
class PebbleCommand:
    """A Pebble service command split as Pebble splits it.

    Pebble reads `cmd args [ default args ]`: the bracketed tail holds the
    defaults that arguments given to the container (`docker run <rock> ...`,
    `pebble enter --args <service> ...`) replace.
    """

    fixed: tuple[str, ...]
    defaults: tuple[str, ...]

    @property
    def argv(self) -> list[str]:
        """What runs when the container gets no arguments."""
        return [*self.fixed, *self.defaults]


def parse_pebble_command(command: str) -> PebbleCommand:
    """Split a service command; raise ValueError where Pebble would reject the brackets."""
    words = shlex.split(command)
    if not words:
        raise ValueError("empty command")
    if "[" not in words and "]" not in words:
        return PebbleCommand(fixed=tuple(words), defaults=())
    opening = words.index("[") if "[" in words else -1
    if words.count("[") != 1 or words.count("]") != 1 or words[-1] != "]" or opening < 1:
        raise ValueError(
            f"{command!r}: default arguments must be one trailing '[ ... ]' group after the"
            " executable, with the brackets as separate words"
        )
    return PebbleCommand(fixed=tuple(words[:opening]), defaults=tuple(words[opening + 1 : -1]))


@dataclass(frozen=True)
class RockProject:
    """One rocks/<name>/rockcraft.yaml."""

    name: str
    path: Path
    data: dict[str, Any]

    @property
    def parts(self) -> dict[str, dict[str, Any]]:
        """The parts, by name."""
        return self.data.get("parts") or {}

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        """The Pebble services, by name."""
        return self.data.get("services") or {}

    @property
    def checks(self) -> dict[str, dict[str, Any]]:
        """The Pebble checks, by name."""
        return self.data.get("checks") or {}

    @property
    def entrypoint_service(self) -> str:
        """The service `docker run <rock>` starts (empty when the rock names none)."""
        return self.data.get("entrypoint-service", "")

    def service_command(self, service: str | None = None) -> PebbleCommand:
        """A service's command (the entrypoint service's by default), split."""
        return parse_pebble_command(self.services[service or self.entrypoint_service]["command"])

    @property
    def launched_module(self) -> str | None:
        """The server module the entrypoint service runs through kserve_launcher, if it does."""
        fixed = self.service_command().fixed
        if tuple(fixed[: len(LAUNCHER_PREFIX)]) != LAUNCHER_PREFIX or len(fixed) <= 3:
            return None
        return fixed[len(LAUNCHER_PREFIX)]

    def common_parts(self) -> dict[str, dict[str, Any]]:
        """The parts whose source is the staged common/ directory (rocks/common)."""
        return {
            name: part
            for name, part in self.parts.items()
            if Path(str(part.get("source", ""))).parts[:1] == ("common",)
        }


def load_rock(path: Path) -> RockProject:
    """Read one rockcraft.yaml."""
    return RockProject(name=path.parent.name, path=path, data=yaml.safe_load(path.read_text()))


def discover_rocks() -> list[RockProject]:
    """Every rocks/*/rockcraft.yaml, KServe-shaped or not."""
    return [load_rock(path) for path in sorted(ROCKS_DIR.glob("*/rockcraft.yaml"))]


KSERVE_ROCKS = load_kserve_rocks()
# The KServe rocks that are on disk; a listed rock without a rendering fails its own test.
ROCKS = [rock for rock in discover_rocks() if rock.name in KSERVE_ROCKS.rocks]


def spec_of(rock: RockProject) -> KServeRock:
    """The rocks.yaml entry a KServe rock is rendered from."""
    return KSERVE_ROCKS.rocks[rock.name]
