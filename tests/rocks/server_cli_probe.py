"""Parse command lines with a KServe model server's own argparse parser, in a fresh process.

Run as ``python server_cli_probe.py REQUEST.json RESULT.json``. The request
names the parser's source and the argument lists to check:

* ``kserve-sdk``: ``kserve.model_server.parser`` of the installed kserve SDK,
  extended with the value-taking flags the server adds (``server_flags``:
  ``--model_dir``, required or not, and the server's own), the way each
  server's ``__main__`` builds its parser;
* ``standin``: the module-level ``parser`` of ``<path>/<server>/__main__.py``
  (the workload tests' stand-ins);
* ``upstream``: the same from a kserve checkout's ``python/`` directory, with
  the checkout's own kserve, kserve-storage and servers first on the path.

Each argument list goes through ``parse_known_args``, as the servers parse
their command line: a value the parser refuses (a wrong type, a choice it does
not offer) is its error message, and every argument it leaves unparsed (a
misspelt flag, which the server would ignore without a word) is reported as
unrecognized. Not ``parse_args``: vLLM's ``FlexibleArgumentParser``, which
huggingfaceserver uses whenever vLLM is installed, rewrites underscores to
dashes there and then refuses flags the server accepts.

Why a separate process: ``kserve.model_server`` and the servers' ``__main__``
modules parse ``sys.argv`` when imported, and configure logging; here that
happens with a harmless ``sys.argv`` (the request's ``import_argv``) and away
from pytest's process.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import runpy
import sys
import traceback
from pathlib import Path
from typing import Any


def sdk_parser(server_module: str, server_flags: dict[str, bool]) -> argparse.ArgumentParser:
    """The kserve SDK's ModelServer parser plus the server's flags, as upstream builds theirs."""
    from kserve.model_server import parser as model_server_parser

    parser = argparse.ArgumentParser(prog=server_module, parents=[model_server_parser])
    for flag, required in server_flags.items():
        parser.add_argument(flag, required=required)
    return parser


def module_parser(server_module: str, search_path: list[Path]) -> argparse.ArgumentParser:
    """The ArgumentParser that `<server_module>/__main__.py` defines at module level."""
    sys.path[:0] = [str(path) for path in search_path]
    # A run name other than "__main__" runs the module's top level but not its main block.
    namespace = runpy.run_module(f"{server_module}.__main__", run_name="server_cli_probe")
    candidates = [
        value for value in namespace.values() if isinstance(value, argparse.ArgumentParser)
    ]
    named = namespace.get("parser")
    if isinstance(named, argparse.ArgumentParser):
        return named
    if len(candidates) != 1:
        raise LookupError(f"{server_module}.__main__ defines {len(candidates)} ArgumentParsers")
    return candidates[0]


def load_parser(request: dict[str, Any]) -> argparse.ArgumentParser:
    """The parser the request names."""
    server_module: str = request["server_module"]
    source: str = request["source"]
    if source == "kserve-sdk":
        return sdk_parser(server_module, request["server_flags"])
    path = Path(request["path"])
    if source == "standin":
        return module_parser(server_module, [path])
    if source == "upstream":
        # Every python/<project>/ of the checkout: kserve, storage, and the servers
        # a server imports (predictiveserver imports sklearnserver, xgbserver, ...).
        projects = sorted(child for child in path.iterdir() if child.is_dir())
        return module_parser(server_module, [path / server_module, *projects])
    raise ValueError(f"unknown parser source {source!r}")


def server_parse(parser: argparse.ArgumentParser, argv: list[str]) -> str | None:
    """None when `parse_known_args` takes every argument, else what it refused or left."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr):
            _, unparsed = parser.parse_known_args(argv)
    except SystemExit as exit_:
        return stderr.getvalue().strip() or f"argparse exited with status {exit_.code}"
    return f"unrecognized arguments: {' '.join(unparsed)}" if unparsed else None


def probe(request: dict[str, Any]) -> dict[str, Any]:
    """Load the parser, then check every argument list of the request."""
    sys.argv = [request["server_module"], *request["import_argv"]]
    try:
        parser = load_parser(request)
    except ModuleNotFoundError as error:
        return {"load_error": str(error), "missing_module": error.name}
    except (Exception, SystemExit):
        return {"load_error": traceback.format_exc(), "missing_module": None}
    return {
        "options": sorted(
            {option for action in parser._actions for option in action.option_strings}
        ),
        "errors": [server_parse(parser, list(argv)) for argv in request["argvs"]],
    }


def main() -> None:
    """Read the request file, write the result file."""
    request_file, result_file = sys.argv[1:3]
    request = json.loads(Path(request_file).read_text())
    Path(result_file).write_text(json.dumps(probe(request)))


if __name__ == "__main__":
    main()
