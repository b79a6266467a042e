"""What a real kube-apiserver (v1.37.2) refuses or changes that the schemas do not say.

The fake cluster (fake_kube.py) applies these to every object the charm writes,
with the real server's messages (measured on it; `tests/kube_api` runs the same
cases against it):

- every object's name is an RFC 1123 subdomain and every label value a label
  value, else 422 Invalid;
- an integer field a CRD declares `format: int32` refuses larger numbers, 422;
- a built-in object's container `resources` are stored canonically
  (fake_quantity.py), and a fractional memory value is stored anyway with a
  Warning header, whose text `warnings` returns.

Written from the server's behaviour, not from the charm's rules, so that a
mistake in the charm's validation is not mirrored here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from lightkube import ApiError
from lightkube.models.meta_v1 import Status

from tests.k8s_schemas import int32_violations
from tests.unit import fake_quantity

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
SUBDOMAIN_REGEX = rf"{_LABEL}(\.{_LABEL})*"
SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex"
    f" used for validation is '{SUBDOMAIN_REGEX}')"
)
LABEL_VALUE_REGEX = r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?"
LABEL_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or"
    " '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or"
    f" 'my_value',  or '12345', regex used for validation is '{LABEL_VALUE_REGEX}')"
)
INT32_MESSAGE = '<nil>: Invalid value: "": Checked value must be of type integer with format int32'
# Resources counted in whole bytes, whose fractional values the server warns about.
BYTE_RESOURCES = ("memory", "ephemeral-storage")
GROUPS = {"StatefulSet": "apps", "InferenceService": "serving.kserve.io"}
GROUPS["TrainedModel"] = "serving.kserve.io"


def invalid(kind: str, name: str, causes: list[str]) -> ApiError:
    """The 422 the API server answers with for these causes."""
    detail = causes[0] if len(causes) == 1 else f"[{', '.join(causes)}]"
    message = f'{kind}.{GROUPS[kind]} "{name}" is invalid: {detail}'
    status = Status(code=422, message=message, reason="Invalid", status="Failure")
    return ApiError(status=status)


def _metadata_causes(metadata: dict[str, Any]) -> Iterator[str]:
    name = str(metadata.get("name", ""))
    if len(name) > 253:
        yield f'metadata.name: Invalid value: "{name}": must be no more than 253 characters'
    if not re.fullmatch(SUBDOMAIN_REGEX, name):
        yield f'metadata.name: Invalid value: "{name}": {SUBDOMAIN_MESSAGE}'
    for value in (metadata.get("labels") or {}).values():
        if len(value) > 63:
            yield f'metadata.labels: Invalid value: "{value}": must be no more than 63 bytes'
        if not re.fullmatch(LABEL_VALUE_REGEX, value):
            yield f'metadata.labels: Invalid value: "{value}": {LABEL_VALUE_MESSAGE}'


def check_custom_resource(obj: dict[str, Any]) -> None:
    """Raise the 422 the API server gives a KServe object with a bad name, label or int32."""
    causes = list(_metadata_causes(obj["metadata"]))
    causes += [f"{INT32_MESSAGE} in {path}" for path in int32_violations(obj)]
    if causes:
        raise invalid(obj["kind"], str(obj["metadata"]["name"]), causes)


def check_name(kind: str, name: str) -> None:
    """Raise the 422 the API server gives an object (of a built-in kind) with a bad name."""
    causes = list(_metadata_causes({"name": name}))
    if causes:
        raise invalid(kind, name, causes)


def store_resources(statefulset: dict[str, Any]) -> list[str]:
    """Store every container's resources canonically; the Warning texts the server sends."""
    warnings: list[str] = []
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    for index, container in enumerate(containers):
        for section, values in container.get("resources", {}).items():
            for resource, text in values.items():
                values[resource] = fake_quantity.stored(text)
                if resource in BYTE_RESOURCES and fake_quantity.warns_of_fractional_bytes(text):
                    path = (
                        f"spec.template.spec.containers[{index}].resources.{section}[{resource}]"
                    )
                    warnings.append(
                        f'{path}: fractional byte value "{values[resource]}" is invalid,'
                        " must be an integer"
                    )
    return warnings
