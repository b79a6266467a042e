"""Check command lines against a model server's own argparse parser (see server_cli_probe.py).

Three parsers can judge a command line: the installed kserve SDK's ModelServer
parser plus the servers' `--model_dir` (always available), the workload tests'
stand-in server module, and the real upstream server from a kserve checkout
(`KSERVE_PYTHON_DIR`). A source that is not on this machine skips the test
that asked for it, with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.kserve_rocks import ROOT

PROBE = Path(__file__).with_name("server_cli_probe.py")
STANDINS_DIR = ROOT / "tests" / "workload" / "standins"
# A kserve source checkout's python/ directory: the real upstream servers' parsers.
KSERVE_PYTHON_DIR_ENV = "KSERVE_PYTHON_DIR"
CLI_SOURCES = ("kserve-sdk", "standin", "upstream")
# The value-taking flags each upstream server adds to kserve's ModelServer parser,
# and whether the server requires them (DESIGN.md section 3), for the kserve-sdk
# source; the real parsers (standin, upstream) check them too.
MODEL_DIR_REQUIRED = {"--model_dir": True}
SERVER_FLAGS: dict[str, dict[str, bool]] = {
    "sklearnserver": MODEL_DIR_REQUIRED,
    "xgbserver": {**MODEL_DIR_REQUIRED, "--nthread": False},
    "lgbserver": {**MODEL_DIR_REQUIRED, "--nthread": False},
    "pmmlserver": MODEL_DIR_REQUIRED,
    "paddleserver": MODEL_DIR_REQUIRED,
    "huggingfaceserver": dict.fromkeys(
        ("--model_dir", "--model_id", "--model_revision", "--tokenizer_revision",
         "--max_model_len", "--task", "--backend", "--dtype"),
        False,
    ),
    "predictiveserver": {**MODEL_DIR_REQUIRED, "--framework": False, "--nthread": False},
    "autogluonserver": MODEL_DIR_REQUIRED,
}  # fmt: skip
# What sys.argv holds while a server's __main__ is imported (it parses sys.argv then).
# --model_dir satisfies the servers that require it. huggingfaceserver also acts on
# its arguments at import: it downloads --model_dir's model unless --model_id names
# one, and under the auto and vllm backends it reads the model's configuration (and,
# with vLLM installed, adds vLLM's flags). With a --model_id and the Hugging Face
# backend, the charm's default, it does neither, and builds that backend's parser.
IMPORT_ARGV = ["--model_dir", "/nonexistent-model-dir"]
SERVER_IMPORT_ARGV: dict[str, list[str]] = {
    "huggingfaceserver": [
        *IMPORT_ARGV,
        "--model_id=no-download/parser-only",
        "--backend=huggingface",
    ],
}


@dataclass(frozen=True)
class CliCheck:
    """How one server parser judged some argument lists."""

    options: frozenset[str]
    errors: list[str | None]


ServerCli = Callable[[str, str, list[list[str]]], CliCheck]


def _source_path(source: str, server_module: str) -> Path | None:
    """Where the parser of this source lives; skip the test when it is not on this machine."""
    if source == "kserve-sdk":
        return None
    if source == "standin":
        path = STANDINS_DIR
        if not (path / server_module / "__main__.py").is_file():
            pytest.skip(f"no stand-in for {server_module} in {path}")
        return path
    kserve_python = os.environ.get(KSERVE_PYTHON_DIR_ENV)
    if not kserve_python:
        pytest.skip(
            f"{KSERVE_PYTHON_DIR_ENV} is not set (point it at a kserve checkout's python/)"
        )
    path = Path(kserve_python)
    if not (path / server_module / server_module / "__main__.py").is_file():
        pytest.fail(f"{KSERVE_PYTHON_DIR_ENV}={path} has no {server_module}/{server_module}/")
    return path


def _in_source(path: Path, module: str) -> bool:
    """Whether a module is one of the source's own (not a framework it imports)."""
    package = module.split(".", 1)[0]
    return any((root / package).is_dir() for root in (path, *path.iterdir()) if root.is_dir())


def check_server_cli(
    workdir: Path, source: str, server_module: str, argvs: list[list[str]]
) -> CliCheck:
    """How the `source` parser of `server_module` judges each argument list."""
    path = _source_path(source, server_module)
    request: dict[str, Any] = {
        "source": source,
        "server_module": server_module,
        "path": str(path) if path else None,
        "server_flags": SERVER_FLAGS.get(server_module, MODEL_DIR_REQUIRED),
        "import_argv": SERVER_IMPORT_ARGV.get(server_module, IMPORT_ARGV),
        "argvs": argvs,
    }
    (workdir / "request.json").write_text(json.dumps(request))
    subprocess.run(
        [sys.executable, str(PROBE), "request.json", "result.json"],
        cwd=workdir,
        check=True,
        timeout=120,
    )
    result = json.loads((workdir / "result.json").read_text())
    if "load_error" in result:
        missing = result["missing_module"]
        if path and missing and not _in_source(path, missing):
            pytest.skip(
                f"the {source} parser of {server_module} imports {missing}, which this"
                " environment does not install (rocks/README.md: which environment checks it)"
            )
        pytest.fail(f"cannot load the {source} parser of {server_module}: {result['load_error']}")
    return CliCheck(options=frozenset(result["options"]), errors=result["errors"])


def unknown_flags(arguments: list[str], options: frozenset[str]) -> list[str]:
    """Flags that are not exactly an option string (argparse also accepts abbreviations)."""
    flags = [argument.split("=", 1)[0] for argument in arguments if argument.startswith("--")]
    return [flag for flag in flags if flag not in options]
