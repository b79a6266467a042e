"""The requirer side of `otlp` (`send-otlp`): logs over OTLP, and the alert rules.

Related to an OTLP receiver (opentelemetry-collector-k8s's `receive-otlp`):

- the leader publishes the charm's alert rules through charmlibs-interfaces-otlp
  (`OtlpRequirer` with a `RuleStore`): the same PromQL rules as
  `metrics-endpoint` (none in serverless mode, where no unit is scraped) and the
  library's generic application rules;
- each unit points a Pebble log target of type `opentelemetry` at the
  receiver's OTLP/HTTP endpoint, when the unit's Pebble has that target type.
  Pebble added it in v1.24.0 (canonical/pebble#663); Juju ships Pebble v1.26.0
  from 3.6.13 on (juju/juju#21335), and v1.19.2 (`loki` targets only) in 3.6.0
  to 3.6.12. On an older Pebble the unit's logs go to Loki through `logging`
  alone, and the status says which way a unit's logs go (`log_path`).

The endpoints are read here, not with `OtlpRequirer.endpoints`: the library
decodes the provider's `endpoints` with `json.loads` outside its handler of
validation errors, so a malformed or oversized databag would raise out of the
hook. Here each relation's `endpoints` is parsed within bounds, validated with
the library's own `OtlpEndpoint` model, and skipped with a log line if unusable.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, cast

import ops
import pydantic
from charmlibs.interfaces.otlp import OtlpEndpoint, OtlpRequirer, RuleStore
from cosl import JujuTopology
from cosl.types import OfficialRuleFileFormat

from model_server_charm import bounded, validation
from model_server_charm.observability.logs import log_targets_layer
from model_server_charm.relation_observer import RelationObserver

RELATION_NAME = "send-otlp"
LAYER_NAME = "otlp-log-targets"
TARGET_PREFIX = "juju-otlp-"
# The first Pebble with `opentelemetry` log targets, and the first Juju 3.6 shipping one.
OTLP_LOG_TARGETS_SINCE = (1, 24)
OTLP_PEBBLE = "Pebble v1.24+, Juju 3.6.13+"
# A list of a few endpoints: a few hundred bytes.
ENDPOINTS_JSON = bounded.JSONLimits(max_bytes=16 * 1024, max_depth=6)
_ENDPOINTS = pydantic.TypeAdapter(list[OtlpEndpoint])
_VERSION = re.compile(r"v?([0-9]{1,4})\.([0-9]{1,4})")

logger = logging.getLogger(__name__)


def has_otlp_log_targets(pebble_version: str | None) -> bool:
    """Whether a Pebble of this version (`v1.26.0`) forwards logs to `opentelemetry` targets."""
    match = _VERSION.match(pebble_version or "")
    if match is None:
        return False
    return (int(match[1]), int(match[2])) >= OTLP_LOG_TARGETS_SINCE


def logs_endpoint(raw: str) -> str:
    """The OTLP/HTTP endpoint taking logs in a provider's `endpoints`; ValueError if none."""
    document: Any = bounded.parse_json(raw, ENDPOINTS_JSON, "the endpoints")
    try:
        endpoints = _ENDPOINTS.validate_python(document)
    except pydantic.ValidationError as error:
        raise ValueError(f"not a list of OTLP endpoints ({error.error_count()} errors)") from error
    for endpoint in endpoints:
        if endpoint.protocol != "http" or "logs" not in endpoint.telemetries:
            continue
        problem = validation.http_url_problem(endpoint.endpoint)
        if problem:
            logger.warning(
                "ignoring OTLP endpoint %s: %s", bounded.quote(endpoint.endpoint), problem
            )
            continue
        return endpoint.endpoint
    raise ValueError("no OTLP/HTTP endpoint taking logs")


def log_path(loki: bool, otlp: bool, pebble_version: str | None) -> str:
    """Which way this unit's logs go, for the status ("" when no log relation exists)."""
    supported = has_otlp_log_targets(pebble_version)
    if otlp and supported:
        return "logs over OTLP and to Loki" if loki else "logs over OTLP"
    version = pebble_version or "(unknown)"
    why = f"this unit's Pebble {version} has no OTLP log target ({OTLP_PEBBLE})"
    if otlp and loki:
        return f"logs to Loki: {why}"
    if otlp:
        return f"logs not forwarded: {why}; relate logging (Loki)"
    return "logs to Loki" if loki else ""


class OtlpForwarder(RelationObserver):
    """Publishes the alert rules and points Pebble's OTLP log targets at the related receivers."""

    event_kinds = ("relation_joined", "relation_changed", "relation_broken")

    def __init__(self, charm: ops.CharmBase, relation_name: str = RELATION_NAME):
        super().__init__(charm, relation_name)

    @property
    def related(self) -> bool:
        """Whether an OTLP receiver is related."""
        return bool(self.model.relations[self._relation_name])

    def publish(self, promql_rules: dict[str, Any]) -> None:
        """Publish the rules (leader only; the library writes nothing on other units)."""
        if not self.related:
            return
        topology = JujuTopology.from_charm(self._charm)
        store = RuleStore(topology)
        if promql_rules.get("groups"):
            store.add_promql(cast(OfficialRuleFileFormat, promql_rules))
        requirer = OtlpRequirer(
            self._charm, self._relation_name, protocols=["http"], telemetries=["logs"], rules=store
        )
        requirer.publish()

    def endpoints(self) -> dict[str, str]:
        """Each related receiver's OTLP/HTTP logs endpoint, by application (unusable: skipped)."""
        found: dict[str, str] = {}
        for relation in self.model.relations[self._relation_name]:
            raw = relation.data[relation.app].get("endpoints")
            if not raw:
                continue  # the receiver has not published its endpoints yet
            try:
                found[relation.app.name] = logs_endpoint(raw)
            except ValueError as error:
                logger.warning("ignoring %s's OTLP endpoints: %s", relation.app.name, error)
        return found

    def layer(
        self, planned: Mapping[str, ops.pebble.LogTarget], pebble_version: str | None
    ) -> ops.pebble.LayerDict | None:
        """The layer pointing OTLP log targets at the receivers related now (None: nothing to add).

        On a Pebble without OTLP log targets nothing is planned: Pebble would
        refuse the whole layer.
        """
        if not has_otlp_log_targets(pebble_version):
            return None
        topology = JujuTopology.from_charm(self._charm)
        endpoints = self.endpoints()
        layer = log_targets_layer(endpoints, planned, topology, "opentelemetry", TARGET_PREFIX)
        return layer if layer.get("log-targets") else None
