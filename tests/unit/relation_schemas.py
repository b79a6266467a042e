"""Checks of relation data against the interfaces' published specifications.

ingress v2: the specification's schema is Python (pydantic models in
canonical/charm-relation-interfaces, interfaces/ingress/v2/schema.py), not data,
so `INGRESS_V2` is written here from it, field by field: requirer application
data `model`, `name` (JSON strings) and `port` (JSON integer); requirer unit
data `host` (JSON string); provider application data `ingress` (JSON object with
an http(s) `url`). Every databag value is JSON-encoded, as the specification says.

s3 v0: the specification's schemas are JSON Schema data
(interfaces/s3/v0/schemas/provider.json and requirer.json); `S3_V0` restates
their required fields and types (the files are not copied into the repository).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import jsonschema

_JSON_STRING = {"type": "string"}
_HTTP_URL = {"type": "string", "pattern": "^https?://[^/\\s]+"}

INGRESS_V2: dict[str, dict[str, Any]] = {
    "requirer-app": {
        "type": "object",
        "required": ["model", "name", "port"],
        "properties": {
            "model": _JSON_STRING,
            "name": _JSON_STRING,
            "port": {"type": "integer", "minimum": 1, "maximum": 65535},
        },
    },
    "requirer-unit": {
        "type": "object",
        "required": ["host"],
        "properties": {"host": _JSON_STRING},
    },
    "provider-app": {
        "type": "object",
        "required": ["ingress"],
        "properties": {
            "ingress": {"type": "object", "required": ["url"], "properties": {"url": _HTTP_URL}}
        },
    },
}

S3_V0: dict[str, dict[str, Any]] = {
    "provider": {
        "type": "object",
        "required": ["bucket", "access-key", "secret-key"],
        "properties": {
            key: {"type": "string"}
            for key in (
                "bucket",
                "access-key",
                "secret-key",
                "path",
                "endpoint",
                "region",
                "s3-uri-style",
                "storage-class",
            )
        },
    },
    "requirer": {
        "type": "object",
        "required": ["bucket"],
        "properties": {"bucket": {"type": "string"}},
    },
}


# What Juju itself writes in every unit databag (not JSON).
JUJU_KEYS = frozenset({"egress-subnets", "ingress-address", "private-address"})


def decoded(databag: Mapping[str, str]) -> dict[str, Any]:
    """A databag whose every value is JSON, decoded (ingress); Juju's own keys left out."""
    return {key: json.loads(value) for key, value in databag.items() if key not in JUJU_KEYS}


def check(schema: dict[str, Any], document: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `document` follows `schema`."""
    jsonschema.validate(dict(document), schema)
