"""What the charm adds to lightkube's HTTP client: every answer of the API is looked at first.

Two things lightkube (1.0) does not do, done in an httpx response hook on the
client it wraps (lightkube offers no hook of its own, and its `transport`
argument would replace the TLS and token set-up it derives from the pod):

- The API server tells a client what it accepted but changed or will ignore in
  `Warning` headers (RFC 7234: `299 - "text"`), for example that a fractional
  byte value is invalid. lightkube drops them; the charm logs each, so an
  operator sees in `juju debug-log` what the API silently did.
- lightkube turns an error answer into an `ApiError` by reading its
  Content-Type header, and an answer without one (a proxy's or a load
  balancer's, not the API server's) makes that raise `KeyError`. Such an
  answer is raised here, first, as the `httpx.HTTPStatusError` it is: the
  fault every caller already maps to a status (`kubernetes_problems`).
"""

from __future__ import annotations

import logging
import re

import httpx2 as httpx
from lightkube import Client

from model_server_charm.bounded import QUOTED_ANSWER_BYTES, shorten

logger = logging.getLogger(__name__)

# warn-code SP warn-agent SP warn-text (a quoted string, `\` escaping the next character).
_WARNING = re.compile(r'[0-9]{3} \S+ "(?P<text>(?:[^"\\]|\\.)*)"(?: .*)?', re.DOTALL)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def warning_text(header: str) -> str:
    """The text of one Warning header value (the whole value when it is not RFC 7234's form)."""
    match = _WARNING.fullmatch(header)
    if match is None:
        return header
    return _ESCAPED.sub(r"\1", match["text"])


def log_warnings(response: httpx.Response) -> None:
    """Log every Warning the API sent with this answer."""
    for header in response.headers.get_list("warning"):
        logger.warning(
            "Kubernetes API warning on %s %s: %s",
            response.request.method,
            response.request.url.path,
            shorten(warning_text(header), QUOTED_ANSWER_BYTES),
        )


def raise_untyped_error(response: httpx.Response) -> None:
    """Raise an error answer that has no Content-Type, which lightkube cannot read."""
    if not response.is_success and "content-type" not in response.headers:
        response.raise_for_status()


def observed(client: Client) -> Client:
    """The same client, with the charm's hooks on every answer it receives."""
    # lightkube.Client -> its GenericSyncClient -> the httpx client it sends with.
    hooks = client._client._client.event_hooks
    hooks["response"] = [*hooks["response"], log_warnings, raise_untyped_error]
    client._client._client.event_hooks = hooks
    return client
