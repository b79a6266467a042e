"""What the stand-in servers share with each other, as upstream's servers do in their own copies.

Every upstream KServe Python server builds its parser on kserve's ModelServer
parser and adds `--model_dir`, parses with `parse_known_args` (unknown flags
are ignored), downloads the model directory with kserve-storage, and insists
on exactly one model file of its suffixes directly in that directory.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import kserve
from kserve import logging
from kserve.errors import ModelMissingError
from kserve.model import BaseKServeModel
from kserve.model_server import parser as model_server_parser


def server_parser(model_dir_default: str | None = None) -> argparse.ArgumentParser:
    """Build kserve's ModelServer parser plus `--model_dir`, required unless given a default."""
    parser = argparse.ArgumentParser(parents=[model_server_parser])
    parser.add_argument(
        "--model_dir",
        required=model_dir_default is None,
        default=model_dir_default,
        help="A URI pointer to the model directory",
    )
    return parser


def single_model_file(local_dir: Path, suffixes: Sequence[str]) -> Path:
    """Return the one file of `local_dir` whose name ends with one of `suffixes`.

    Raises ModelMissingError when there is none and RuntimeError when there are
    several: guessing which one to serve would hide a packaging mistake.
    """
    candidates = sorted(
        path
        for path in local_dir.iterdir()
        if path.is_file() and path.name.endswith(tuple(suffixes))
    )
    if not candidates:
        raise ModelMissingError(str(local_dir))
    if len(candidates) > 1:
        names = ", ".join(path.name for path in candidates)
        raise RuntimeError(
            f"more than one model file in {local_dir}: {names};"
            f" keep exactly one {'/'.join(suffixes)} file"
        )
    return candidates[0]


def start_logging(args: argparse.Namespace) -> None:
    """Configure kserve's logging when the flags ask for it, before the model loads."""
    if args.configure_logging:
        logging.configure_logging(args.log_config_file)


def serve(model: BaseKServeModel, workers: int | None = None) -> None:
    """Serve the loaded `model`; `workers` overrides `--workers`, as some upstream servers do."""
    server = kserve.ModelServer() if workers is None else kserve.ModelServer(workers=workers)
    server.start([model])
