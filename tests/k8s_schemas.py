"""Validate Kubernetes objects for real: the API server's schemas, strictly.

Built-in kinds go through `kubernetes-validate` with its strict schemas (an
unknown field is an error, as with `kubectl apply --validate=strict`). KServe's
kinds go through jsonschema on the `openAPIV3Schema` of KServe's own CRDs, made
strict the same way: the API server prunes unknown fields of a structural
schema silently, so a misspelt field would otherwise vanish without a word.

The CRDs are not committed. They are found in `$KSERVE_CRDS`, else in
`../shared/kserve-crds/` beside the repository (development machines and CI),
else in a cache filled from the pinned KServe release (a machine with internet);
otherwise `kserve_crd_problem()` says why they are missing, for a skip.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

ROOT = Path(__file__).resolve().parent.parent
# The Kubernetes version the objects must be valid for (MicroK8s/Charmed Kubernetes today).
KUBERNETES_VERSION = "1.32"
KSERVE_VERSION = "v0.20.0"
CRD_FILES = {
    "InferenceService": "serving.kserve.io_inferenceservices.yaml",
    "TrainedModel": "serving.kserve.io_trainedmodels.yaml",
}
CRD_URL = "https://raw.githubusercontent.com/kserve/kserve/{version}/config/crd/full/{file}"
DOWNLOAD_TIMEOUT = 20


class SchemaError(AssertionError):
    """An object is not valid for the API server; the message says where and why."""


def validate_builtin(obj: dict[str, Any]) -> None:
    """Validate a built-in kind (StatefulSet, Pod, …) against Kubernetes' strict schema."""
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as error:
        path = ".".join(str(step) for step in error.path)
        raise SchemaError(
            f"{obj.get('kind')} invalid at {path or '<root>'}: {error.message}"
        ) from error


def validate_metadata(metadata: dict[str, Any]) -> None:
    """Validate an ObjectMeta (CRD schemas leave `metadata` to the API server).

    Checked as the metadata of a ConfigMap, whose schema is exactly ObjectMeta's.
    """
    validate_builtin({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata})


def _candidate_dirs() -> Iterator[tuple[str, Path]]:
    configured = os.environ.get("KSERVE_CRDS")
    if configured:
        yield "$KSERVE_CRDS", Path(configured)
    yield "../shared/kserve-crds", ROOT.parent / "shared" / "kserve-crds"
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    yield "the download cache", cache_home / "kserve-bundle" / "kserve-crds" / KSERVE_VERSION


def _download(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for file in CRD_FILES.values():
        url = CRD_URL.format(version=KSERVE_VERSION, file=file)
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
            text = response.read().decode()
        (directory / file).write_text(text)


@cache
def _crd_dir() -> tuple[Path | None, str]:
    tried: list[str] = []
    candidates = list(_candidate_dirs())
    for label, directory in candidates:
        if all((directory / file).is_file() for file in CRD_FILES.values()):
            return directory, ""
        tried.append(f"{label} ({directory})")
    cache_dir = candidates[-1][1]
    try:
        _download(cache_dir)
    except OSError as error:
        return None, (
            f"KServe {KSERVE_VERSION} CRDs not found in {', '.join(tried)} and not downloadable:"
            f" {error}; set KSERVE_CRDS to a directory holding {', '.join(CRD_FILES.values())}"
        )
    return cache_dir, ""


def kserve_crd_problem() -> str:
    """Why the KServe CRDs are unavailable ('' when they are available)."""
    return _crd_dir()[1]


def kserve_crds() -> list[dict[str, Any]]:
    """KServe's CustomResourceDefinitions the charm's objects need, as documents."""
    directory, problem = _crd_dir()
    if directory is None:
        raise SchemaError(problem)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return [
        document
        for file in CRD_FILES.values()
        for document in yaml.load_all((directory / file).read_text(), Loader=loader)
        if document and document.get("kind") == "CustomResourceDefinition"
    ]


def _strict(schema: Any) -> Any:
    """The schema as the API server's strict field validation applies it.

    An object schema with `properties` accepts no other field unless it says
    `x-kubernetes-preserve-unknown-fields` (or gives `additionalProperties`).
    """
    if isinstance(schema, list):
        return [_strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    node: dict[str, Any] = {
        key: _strict(value) for key, value in schema.items() if key != "properties"
    }
    if "properties" in schema:
        # `properties` maps names to schemas: recurse into each, not into the mapping.
        node["properties"] = {name: _strict(sub) for name, sub in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            node.setdefault("additionalProperties", False)
    return node


@cache
def _crd_validator(kind: str) -> jsonschema.Draft7Validator:
    directory, problem = _crd_dir()
    if directory is None:
        raise SchemaError(problem)
    # The InferenceService CRD is 2 MB of YAML: the C loader reads it in a fraction of the time.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    documents = yaml.load_all((directory / CRD_FILES[kind]).read_text(), Loader=loader)
    crd = next(doc for doc in documents if doc and doc.get("kind") == "CustomResourceDefinition")
    version = next(v for v in crd["spec"]["versions"] if v.get("storage"))
    schema = _strict(version["schema"]["openAPIV3Schema"])
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _is_int32(value: object) -> bool:
    return not isinstance(value, int) or -(2**31) <= value < 2**31


@cache
def _int32_validator(kind: str) -> jsonschema.Draft7Validator:
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("int32")(_is_int32)
    return jsonschema.Draft7Validator(_crd_validator(kind).schema, format_checker=checker)


def int32_violations(obj: dict[str, Any]) -> list[str]:
    """The paths of integers a KServe object holds where its CRD says `format: int32`, too big.

    jsonschema checks no format unless asked; the API server checks int32 and int64.
    """
    validator = _int32_validator(obj["kind"])
    paths = [
        ".".join(str(step) for step in error.path)
        for error in validator.iter_errors(obj)
        if error.validator == "format"
    ]
    return sorted(paths)


def validate_kserve(obj: dict[str, Any]) -> None:
    """Validate an InferenceService or TrainedModel against KServe's CRD, strictly."""
    kind = obj.get("kind", "")
    if kind not in CRD_FILES:
        raise SchemaError(f"not a KServe kind this project sends: {kind!r}")
    errors = sorted(_crd_validator(kind).iter_errors(obj), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(
            f"{'.'.join(str(step) for step in error.path) or '<root>'}: {error.message}"
            for error in errors[:5]
        )
        raise SchemaError(f"{kind} invalid: {details}")
    validate_metadata(obj["metadata"])


def validator_for(obj: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """The right validator for an object's kind."""
    return validate_kserve if obj.get("kind") in CRD_FILES else validate_builtin
