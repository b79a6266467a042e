r"""The grammars option values must follow, as Kubernetes, KServe and OCI define them.

Every pattern matches the whole value (`fullmatch`: `$` would also accept a
trailing newline) and spells digits `[0-9]` (`\d` also matches Arabic-Indic
and fullwidth digits, which a parser may accept and the API refuses).
"""

from __future__ import annotations

import re
import urllib.parse

from lightkube.utils.quantity import parse_quantity

# Schemes kserve-storage downloads by itself, plus absolute local paths.
MODEL_URI_SCHEMES = ("gs://", "s3://", "hdfs://", "webhdfs://", "http://", "https://", "hf://")
# The model name is part of every URL path and of Kubernetes object names.
MODEL_NAME = re.compile(r"[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?")
# An extended resource name as the Kubernetes API accepts it: <dns-prefix>/<name>.
# A Hugging Face Hub repository id: [<organisation>/]<name>, ASCII letters, digits, '.', '_', '-'.
HF_MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}(?:/[A-Za-z0-9][A-Za-z0-9._-]{0,95})?")
RESOURCE_NAME = re.compile(
    r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?"
)

# A Kubernetes quantity (apimachinery resource.Quantity): a signed decimal
# number, then a binary (Ki…Ei) or decimal (m, k…E) suffix or an exponent.
_DECIMAL = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
QUANTITY = re.compile(rf"[+-]?{_DECIMAL}(?:[KMGTPE]i|[mkMGTPE]|[eE][+-]?[0-9]+)?")

# An OCI image reference (the distribution project's reference grammar):
# [registry-host[:port]/]path[:tag][@digest].
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_REGISTRY = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_REGISTRY}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"sha256:[0-9a-f]{64}"
IMAGE_REFERENCE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?")
# The registry refuses longer names (the distribution project's NameTotalLengthMax).
MAX_IMAGE_NAME_LENGTH = 255


def is_positive_quantity(text: str) -> bool:
    """Whether `text` is a Kubernetes quantity above zero, in ASCII digits."""
    if not QUANTITY.fullmatch(text):
        return False
    try:
        value = parse_quantity(text)
    except ValueError:
        return False
    return value is not None and value > 0


def is_image_reference(text: str) -> bool:
    """Whether `text` is an OCI image reference a registry would accept."""
    match = IMAGE_REFERENCE.fullmatch(text)
    return match is not None and len(match["name"]) <= MAX_IMAGE_NAME_LENGTH


def has_space_or_control(text: str) -> bool:
    """Whether `text` holds whitespace or control characters (never part of a URI)."""
    return any(character.isspace() or not character.isprintable() for character in text)


# The URI is shown in statuses and logs: credentials belong in a secret.
CREDENTIALS_PROBLEM = "has credentials in it; put them in the storage-credentials secret"


def has_credentials(uri: str) -> bool:
    """Whether the URI's authority holds a user (and password): `https://user:pass@host/…`."""
    _, separator, rest = uri.partition("://")
    return bool(separator) and "@" in rest.partition("/")[0]


def without_credentials(uri: str) -> str:
    """The URI with any user:password@ in its authority replaced by ***@, for messages."""
    if not has_credentials(uri):
        return uri
    scheme, _, rest = uri.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}://***@{authority.rpartition('@')[2]}{slash}{path}"


def model_uri_problem(uri: str) -> str | None:
    """What is wrong with a non-empty model-uri, or None when kserve-storage can fetch it."""
    if has_space_or_control(uri):
        return "has whitespace or control characters"
    if uri.startswith("/"):
        return None
    scheme = next((scheme for scheme in MODEL_URI_SCHEMES if uri.startswith(scheme)), None)
    if scheme is None:
        return (
            "unsupported location; use gs://, s3://, hdfs://, webhdfs://, http(s)://, hf://"
            " or an absolute path"
        )
    authority = uri[len(scheme) :].split("/", 1)[0]
    if not authority:
        return f"name the bucket or host after {scheme}"
    if has_credentials(uri):
        return CREDENTIALS_PROBLEM
    return None


def http_url_problem(url: str) -> str | None:
    """What keeps `url` from being an http(s) URL with a host and a port, or None."""
    if has_space_or_control(url):
        return "has whitespace or control characters"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port  # ValueError unless a number from 0 to 65535
    except ValueError:
        return "is not a URL"
    if parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        return "is not an http(s) URL with a host"
    return None
