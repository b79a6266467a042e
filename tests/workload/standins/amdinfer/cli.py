"""amdinfer-server's command line, parsed as its cxxopts 2.2.1 parser parses it.

The options are the ones src/amdinfer/main.cpp defines in a build with HTTP and
gRPC. As in cxxopts: `--name=value` and `--name value` both work, a boolean
option alone means true, a word that is not an option is left alone, and an
unknown option, a missing argument or a value that does not parse is an error
that the server prints (`Error parsing options: ...`) before exiting with 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

DEFAULT_HTTP_PORT = 8998
DEFAULT_GRPC_PORT = 50051
DEFAULT_REPOSITORY = "/mnt/models"
# cxxopts quotes names and values with these on Linux.
LQUOTE, RQUOTE = "\u2018", "\u2019"
BOOLEANS = ("repository-load-existing", "repository-monitoring", "use-polling-watcher", "help")
PORTS = ("http-port", "grpc-port")
STRINGS = ("model-repository",)
# cxxopts' truthy and falsy patterns, `(t|T)(rue)?|1` and `(f|F)(...)?|0`, spelt out.
TRUE = re.compile(r"t|T|true|True|1")
FALSE = re.compile(r"f|F|false|False|0")
INTEGER = re.compile(r"(-)?(0x)?([0-9a-zA-Z]+)")
HELP = """Inference in the cloud
Usage:
  amdinfer-server [OPTION...]

      --model-repository arg    Path to the model repository
      --repository-load-existing
                                Load all models found in the model repository
                                as the server starts
      --repository-monitoring   Actively monitor the model-repository
                                directory for new models. Sets
                                repository-load-existing to true if enabled
      --use-polling-watcher     Use polling to monitor model-repository
                                directory
      --http-port arg           Port to use for HTTP server
      --grpc-port arg           Port to use for gRPC server
      --help                    Print help
"""


class OptionError(Exception):
    """The command line does not parse; the message is cxxopts' own."""


@dataclass(frozen=True)
class Options:
    """The server's settings after parsing."""

    model_repository: str = DEFAULT_REPOSITORY
    repository_load_existing: bool = False
    repository_monitoring: bool = False
    use_polling_watcher: bool = False
    http_port: int = DEFAULT_HTTP_PORT
    grpc_port: int = DEFAULT_GRPC_PORT
    help: bool = False

    @property
    def load_existing(self) -> bool:
        """Monitoring implies loading what the repository already holds."""
        return self.repository_load_existing or self.repository_monitoring


def _quoted(text: str) -> str:
    return f"{LQUOTE}{text}{RQUOTE}"


def _boolean(text: str) -> bool:
    if TRUE.fullmatch(text):
        return True
    if FALSE.fullmatch(text):
        return False
    raise OptionError(f"Argument {_quoted(text)} failed to parse")


def _port(text: str) -> int:
    """A uint16_t as cxxopts reads integers (decimal or 0x hex, no sign for unsigned)."""
    match = INTEGER.fullmatch(text)
    if match is None or match.group(1):
        raise OptionError(f"Argument {_quoted(text)} failed to parse")
    base = 16 if match.group(2) else 10
    try:
        value = int(match.group(3), base)
    except ValueError:
        raise OptionError(f"Argument {_quoted(text)} failed to parse") from None
    if value > 0xFFFF:
        raise OptionError(f"Argument {_quoted(text)} failed to parse")
    return value


def _converted(name: str, text: str) -> bool | int | str:
    if name in BOOLEANS:
        return _boolean(text)
    if name in PORTS:
        return _port(text)
    return text


def parse(argv: Sequence[str]) -> Options:
    """Parse the arguments after the program name; raise OptionError as cxxopts would."""
    values: dict[str, bool | int | str] = {}
    index = 0
    while index < len(argv):
        argument = argv[index]
        index += 1
        if argument == "--":
            break
        if not argument.startswith("-") or argument == "-":
            continue  # a positional argument: cxxopts leaves it in argv
        if not argument.startswith("--"):
            # No option has a short name: the first letter is already unknown.
            raise OptionError(f"Option {_quoted(argument[1])} does not exist")
        name, has_value, value = argument[2:].partition("=")
        if name not in (*BOOLEANS, *PORTS, *STRINGS):
            raise OptionError(f"Option {_quoted(name)} does not exist")
        if not has_value:
            if name in BOOLEANS:
                value = "true"
            elif index < len(argv):
                value = argv[index]
                index += 1
            else:
                raise OptionError(f"Option {_quoted(name)} is missing an argument")
        values[name.replace("-", "_")] = _converted(name, value)
    return Options(
        model_repository=str(values.get("model_repository", DEFAULT_REPOSITORY)),
        repository_load_existing=bool(values.get("repository_load_existing", False)),
        repository_monitoring=bool(values.get("repository_monitoring", False)),
        use_polling_watcher=bool(values.get("use_polling_watcher", False)),
        http_port=int(values.get("http_port", DEFAULT_HTTP_PORT)),
        grpc_port=int(values.get("grpc_port", DEFAULT_GRPC_PORT)),
        help=bool(values.get("help", False)),
    )
