r"""The grammars option values must follow, as Kubernetes, KServe and OCI define them.

Every pattern matches the whole value (`fullmatch`: `$` would also accept a
trailing newline) and spells digits `[0-9]` (`\d` also matches Arabic-Indic
and fullwidth digits, which a parser may accept and the API refuses).
"""

from __future__ import annotations

import decimal
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
QUANTITY = re.compile(
    rf"(?P<number>[+-]?{_DECIMAL})(?P<suffix>[KMGTPE]i|[mkMGTPE]|[eE](?P<exponent>[+-]?[0-9]+))?"
)
_SUFFIXES = {
    "m": decimal.Decimal("1e-3"),
    **{suffix: decimal.Decimal(10) ** (3 * power) for power, suffix in enumerate("kMGTPE", 1)},
    **{suffix + "i": decimal.Decimal(1024) ** power for power, suffix in enumerate("KMGTPE", 1)},
}
# Longer quantities are no amount of cpu or memory, and would cost arithmetic to refuse.
MAX_QUANTITY_LENGTH = 64
# What the API server stores (measured on kube-apiserver v1.37): memory counts
# whole bytes and cpu whole millicores, in int64 arithmetic (resource.Quantity's
# MilliValue). It clamps a binary quantity above the largest int64 to it (8Ei is
# stored as 9223372036854775807), stores fractional bytes as milli-bytes with only
# a Warning ("fractional byte value is invalid, must be an integer") and sends the
# same Warning for whole byte counts whose milli-value overflows (7Ei), and rounds
# cpu up to whole millicores (0.0001 becomes 1m): refused here rather than
# silently changed there.
MAX_INT64 = 2**63 - 1
MAX_MEMORY_BYTES = MAX_INT64 // 1000  # 9223372036854775 bytes, about 8 PiB
# Integer fields KServe declares `format: int32` (minReplicas, maxReplicas, scaleTarget).
MAX_INT32 = 2**31 - 1

# An object name (metadata.name) as the API server checks it: an RFC 1123 subdomain.
MAX_OBJECT_NAME_LENGTH = 253
_DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
OBJECT_NAME = re.compile(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
# A label value: at most 63 characters, alphanumeric at both ends.
MAX_LABEL_VALUE_LENGTH = 63
LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")

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
    if len(text) > MAX_QUANTITY_LENGTH or not QUANTITY.fullmatch(text):
        return False
    try:
        value = parse_quantity(text)
    except ValueError:
        return False
    return value is not None and value > 0


def exact_quantity(text: str) -> decimal.Decimal:
    """The exact value of a quantity `is_positive_quantity` accepted (not rounded to 1m).

    lightkube's parse_quantity rounds up to thousandths, as the API server
    stores cpu: to tell what the server would change, the charm needs the value sent.
    """
    match = QUANTITY.fullmatch(text)
    if match is None or len(text) > MAX_QUANTITY_LENGTH:
        raise ValueError(f"not a Kubernetes quantity: {text!r}")
    with decimal.localcontext(decimal.Context(prec=4 * MAX_QUANTITY_LENGTH)) as context:
        number = decimal.Decimal(match["number"])
        if match["exponent"] is not None:
            return context.scaleb(number, int(match["exponent"]))
        return number * _SUFFIXES.get(match["suffix"] or "", decimal.Decimal(1))


def memory_problem(text: str) -> str | None:
    """Why the API server would not store this (valid, positive) memory as sent, or None."""
    value = exact_quantity(text)
    if value > MAX_MEMORY_BYTES:
        return (
            f"more than {MAX_MEMORY_BYTES} bytes (8 PiB), the most the Kubernetes API counts"
            " exactly (it clamps or misreports larger values)"
        )
    if value != value.to_integral_value():
        return (
            "not a whole number of bytes (Kubernetes would store it in milli-bytes and warn"
            " that fractional bytes are invalid)"
        )
    return None


def cpu_problem(text: str) -> str | None:
    """Why the API server would not store this (valid, positive) cpu as sent, or None."""
    millicores = exact_quantity(text) * 1000
    if millicores > MAX_INT64:
        return f"more than {MAX_INT64}m, the most cpu Kubernetes counts"
    if millicores != millicores.to_integral_value():
        return "finer than 1m, a thousandth of a cpu (Kubernetes would round it up)"
    return None


def object_name_problem(name: str) -> str | None:
    """Why the API server refuses `name` as an object's name (RFC 1123 subdomain), or None."""
    if len(name) > MAX_OBJECT_NAME_LENGTH:
        return f"longer than {MAX_OBJECT_NAME_LENGTH} characters"
    if not OBJECT_NAME.fullmatch(name):
        return (
            "not an RFC 1123 subdomain (lowercase letters, digits, '-' and '.', starting and"
            " ending with a letter or digit)"
        )
    return None


def label_value_problem(value: str) -> str | None:
    """Why the API server refuses `value` as a label's value, or None."""
    if len(value) > MAX_LABEL_VALUE_LENGTH:
        return f"longer than {MAX_LABEL_VALUE_LENGTH} characters"
    if not LABEL_VALUE.fullmatch(value):
        return "not a label value (letters, digits, '-', '_' and '.', alphanumeric at both ends)"
    return None


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
