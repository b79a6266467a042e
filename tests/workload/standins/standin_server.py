"""What the stand-in servers share with each other, as upstream's servers do in their own copies.

Every upstream KServe Python server builds its parser on kserve's ModelServer
parser and adds `--model_dir`, parses with `parse_known_args` (unknown flags
are ignored), downloads the model directory with kserve-storage, insists on
exactly one model file of its suffixes directly in that directory, and answers
v1 and v2 requests through kserve's own decoding and encoding helpers, any
framework error becoming an InferenceError (a 500 with the framework's message).
"""

from __future__ import annotations

import argparse
import os
from abc import abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Generic, TypeVar

import kserve
from kserve import logging
from kserve.errors import InferenceError, ModelMissingError, WorkersShouldBeLessThanMaxWorkersError
from kserve.logging import logger
from kserve.model import BaseKServeModel
from kserve.model_repository import ModelRepository
from kserve.model_server import parser as model_server_parser
from kserve.protocol.infer_type import InferRequest, InferResponse
from kserve.utils.utils import get_predict_response
from kserve_storage import Storage

# Upstream's default for the servers with `--nthread`: one framework thread per server process.
DEFAULT_NTHREAD = 1

# What a stand-in model loads and then infers with: a booster, an estimator, a predictor...
LoadedT = TypeVar("LoadedT")


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


def add_nthread_flag(parser: argparse.ArgumentParser, frameworks: str) -> None:
    """Add upstream's `--nthread` (int, default 1): the threads `frameworks` may use."""
    parser.add_argument(
        "--nthread",
        type=int,
        default=DEFAULT_NTHREAD,
        help=f"Number of threads {frameworks} may use per server process",
    )


def parse_server_flags(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Parse the command line as upstream's servers do: flags it does not know are ignored."""
    args, _ = parser.parse_known_args()
    return args


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


class FrameworkModel(kserve.Model, Generic[LoadedT]):
    """A kserve.Model around one loaded framework object, answering KServe's v1 and v2 APIs.

    A subclass says how the object is loaded (`load_framework`) and how it
    infers (`infer`); this class holds it, refuses requests before it is
    loaded, turns any framework error into an InferenceError carrying the
    framework's message (unless `wraps_errors` is false: kserve then answers
    `<ErrorType> : <message>`, as for upstream's Hugging Face encoder), and encodes the
    result with kserve's helper. (kserve's
    models are abstract base classes: a subclass missing a hook cannot be built.)
    """

    # Upstream's servers wrap a framework error in an InferenceError; a subclass whose
    # upstream server lets the error through sets this false.
    wraps_errors = True

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._loaded: LoadedT | None = None

    def load(self) -> bool:
        """Load the framework object; the model is ready once it is."""
        self._loaded = self.load_framework()
        self.ready = True
        return self.ready

    # Synchronous, like upstream's: kserve awaits predict only when it is a coroutine
    # function, and a CPU-bound framework call gains nothing from being one.
    def predict(  # pyright: ignore[reportIncompatibleMethodOverride]
        self,
        payload: dict[str, Any] | InferRequest,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any] | InferResponse:
        """Infer for a v1 body or a v2 InferRequest and answer in the request's protocol."""
        loaded = self._loaded
        if loaded is None:
            raise InferenceError(f"model {self.name} is not loaded")
        if not self.wraps_errors:
            return self.response(payload, self.infer(loaded, payload))
        try:
            result = self.infer(loaded, payload)
        except Exception as error:
            raise InferenceError(str(error)) from error
        return self.response(payload, result)

    @abstractmethod
    def load_framework(self) -> LoadedT:
        """Load and return the framework object the model infers with."""

    @abstractmethod
    def infer(self, loaded: LoadedT, payload: dict[str, Any] | InferRequest, /) -> Any:
        """Decode the request and run `loaded` on it: the framework's result (rows or a table).

        Positional-only, so that each subclass names the object for what it is.
        """

    def response(
        self, payload: dict[str, Any] | InferRequest, result: Any
    ) -> dict[str, Any] | InferResponse:
        """Encode `result` as kserve's helper does for the request's protocol."""
        return get_predict_response(payload, result, self.name)


class StoredModel(FrameworkModel[LoadedT]):
    """A FrameworkModel loaded from the files of `--model_dir` (any kserve-storage URI)."""

    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir

    def load_framework(self) -> LoadedT:
        """Fetch the model directory, then load the framework object from its files."""
        return self.load_files(Path(Storage.download(self.model_dir)))

    @abstractmethod
    def load_files(self, local_dir: Path) -> LoadedT:
        """Load the framework object from the fetched directory, by the server's model rules."""


class SubdirectoryRepository(ModelRepository):
    """Upstream's multi-model repository: a model per subdirectory of `--model_dir`, by its name.

    The servers that have one start with it when `--model_dir` holds no model
    file: every subdirectory is loaded as a model at start (one that fails to
    load fails the server), later ones through the repository API.
    """

    def __init__(self, models_dir: str, model_for: Callable[[str, str], BaseKServeModel]):
        super().__init__(models_dir)
        self.model_for = model_for
        self.load_models()

    async def load(self, name: str) -> bool:  # pyright: ignore[reportIncompatibleMethodOverride]
        """Load the model of subdirectory `name` (the repository API's load)."""
        return self.load_model(name)

    def load_model(self, name: str) -> bool:
        """Load the model of subdirectory `name` and serve it under that name."""
        model = self.model_for(name, os.path.join(self.models_dir, name))
        if model.load():
            self.update(model)
        return model.ready


def start_logging(args: argparse.Namespace) -> None:
    """Configure kserve's logging when the flags ask for it, before the model loads."""
    if args.configure_logging:
        logging.configure_logging(args.log_config_file)


def serve(
    model: BaseKServeModel | None,
    workers: int | None = None,
    repository: ModelRepository | None = None,
) -> None:
    """Serve the loaded `model` (or none, from `repository`); `workers` overrides `--workers`."""
    settings: dict[str, Any] = {} if workers is None else {"workers": workers}
    if repository is not None:
        settings["registered_models"] = repository
    kserve.ModelServer(**settings).start([] if model is None else [model])


def run(
    args: argparse.Namespace,
    model: BaseKServeModel,
    workers: int | None = None,
    max_workers: int | None = None,
    model_for: Callable[[str, str], BaseKServeModel] | None = None,
) -> None:
    """Run a server as upstream's `__main__` does: logging, load, then serve `model`.

    `workers` replaces `--workers` (servers that always use one process);
    `max_workers` refuses more `--workers` after loading, with kserve's
    WorkersShouldBeLessThanMaxWorkersError, so the server exits. With
    `model_for` (name, directory -> model; picklable, as kserve pickles the
    repository into its spawned workers), a model directory without a model
    file starts the server on a SubdirectoryRepository instead, with no model
    loaded when there is no subdirectory, as upstream's servers that have one.
    """
    start_logging(args)
    try:
        model.load()
    except ModelMissingError:
        if model_for is None:
            raise
        logger.error(
            f"failed to locate model file for model {args.model_name} under dir"
            f" {args.model_dir}, trying loading from model repository."
        )
        serve(None, workers, SubdirectoryRepository(args.model_dir, model_for))
        return
    if max_workers is not None and args.workers > max_workers:
        raise WorkersShouldBeLessThanMaxWorkersError(max_workers=max_workers)
    serve(model, workers)
