"""The requirer side of `ingress` (v2): one route per application, load-balanced over its units.

Relation data, as interfaces/ingress/v2 specifies it (every value JSON-encoded):

- the leader writes, in the application databag, `model`, `name` and `port`
  (the HTTP port), and the fields traefik-k8s's provider reads besides:
  `scheme` ("http"), `strip-prefix` (true: the route's path prefix,
  `/<model>-<application>`, is taken off before the request reaches the
  server, which serves `/v1/…` and `/v2/…` at its root) and `redirect-https`
  (false);
- every unit writes, in its unit databag, `host`: its FQDN, stable across pod
  restarts, which the provider routes to;
- the provider writes, in its application databag, `ingress`:
  `{"url": "http://<external host>/<model>-<application>"}`.

In serverless mode the units serve nothing (KServe's pods do, behind the
InferenceService's own URL): the charm withdraws what it wrote, so the provider
drops the route, and the status says the relation does not apply.

The provider's `ingress` is untrusted: anything but bounded JSON holding an
http(s) URL with a host is ignored with a log line.
"""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Callable
from typing import Any

import ops

from model_server_charm import bounded, validation
from model_server_charm.relation_observer import RelationObserver

RELATION_NAME = "ingress"
APP_KEYS = ("model", "name", "port", "scheme", "strip-prefix", "redirect-https")
UNIT_KEYS = ("host",)
# `{"url": "…"}`: a few hundred bytes; anything near this is not an answer.
INGRESS_JSON = bounded.JSONLimits(max_bytes=4096, max_depth=4)
MAX_URL_BYTES = 2048
SERVERLESS_NOTE = (
    "ingress relation does not apply in serverless mode: use the InferenceService's URL"
)

logger = logging.getLogger(__name__)


def ingress_url(raw: str) -> str:
    """The URL in a provider's `ingress` field; ValueError says why there is none."""
    document: Any = bounded.parse_json(raw, INGRESS_JSON, "the ingress field")
    url = document.get("url") if isinstance(document, dict) else None
    if not isinstance(url, str):
        raise ValueError(f"no URL in {bounded.quote(raw)}")
    if len(url.encode()) > MAX_URL_BYTES:
        raise ValueError(f"a URL longer than {MAX_URL_BYTES} bytes")
    problem = validation.http_url_problem(url)
    if not problem and validation.has_credentials(url):
        problem = "has credentials in it"
    if problem:
        raise ValueError(f"{bounded.quote(url)} {problem}")
    return url.rstrip("/")


class IngressRequirer(RelationObserver):
    """Asks the related ingress provider for a route to this application and reads its URL."""

    event_kinds = ("relation_joined", "relation_changed", "relation_broken")

    def __init__(
        self,
        charm: ops.CharmBase,
        relation_name: str = RELATION_NAME,
        host: Callable[[], str] = socket.getfqdn,
    ):
        super().__init__(charm, relation_name)
        self._host = host

    @property
    def _relation(self) -> ops.Relation | None:
        return self.model.get_relation(self._relation_name)

    @property
    def related(self) -> bool:
        """Whether an ingress provider is related."""
        return self._relation is not None

    def publish(self, port: int, serverless: bool) -> None:
        """Ask for a route to the units' `port`; withdraw the request in serverless mode."""
        relation = self._relation
        if relation is None:
            return
        unit_request = {} if serverless else {"host": self._host()}
        _sync(relation.data[self.model.unit], unit_request, UNIT_KEYS)
        if not self.model.unit.is_leader():
            return
        app_request: dict[str, Any] = {}
        if not serverless:
            app_request = {
                "model": self.model.name,
                "name": self.model.app.name,
                "port": port,
                "scheme": "http",
                "strip-prefix": True,
                "redirect-https": False,
            }
        _sync(relation.data[self.model.app], app_request, APP_KEYS)

    def url(self) -> str | None:
        """The URL the provider gives this application (None: none yet, or none usable)."""
        relation = self._relation
        if relation is None:
            return None
        raw = relation.data[relation.app].get("ingress")
        if not raw:
            return None
        try:
            return ingress_url(raw)
        except ValueError as error:
            logger.warning("ignoring %s's ingress URL: %s", relation.app.name, error)
            return None


def _sync(data: ops.RelationDataContent, wanted: dict[str, Any], keys: tuple[str, ...]) -> None:
    """Write `wanted` (JSON-encoded) and remove the other `keys`, touching only what differs."""
    for key in keys:
        if key in wanted:
            value = json.dumps(wanted[key])
            if data.get(key) != value:
                data[key] = value
        elif key in data:
            del data[key]
