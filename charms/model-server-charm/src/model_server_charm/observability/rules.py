"""Alert rules as Prometheus receives them: the packaged files, localised to one application.

The files in `alert_rules/` are plain Prometheus rule files with placeholders,
so they can be read, reviewed and checked with promtool as they are. Before
they go into the relation, every expression is narrowed to this application's
Juju topology and every rule carries the topology as labels: one Prometheus
watches many applications, and without the matchers the rules of one
application would fire on the metrics of every other.
"""

from __future__ import annotations

from collections.abc import Iterable
from importlib import resources
from typing import Any

import yaml
from cosl import JujuTopology

# Replaced by the application's matchers: juju_model, juju_model_uuid, juju_application.
TOPOLOGY_PLACEHOLDER = "%%juju_topology%%"
# Replaced by the latency-alert-threshold option, in seconds.
THRESHOLD_PLACEHOLDER = "%%latency_alert_threshold%%"
RULES_SUFFIX = ".rules"
# The package holding alert_rules/ (this module's own package).
_PACKAGE = __name__.rpartition(".")[0]


def rule_file_text(name: str) -> str:
    """The packaged rule file `alert_rules/<name>.rules`, placeholders and all."""
    directory = resources.files(_PACKAGE).joinpath("alert_rules")
    return directory.joinpath(name + RULES_SUFFIX).read_text()


def available_rule_files() -> list[str]:
    """Names of every packaged rule file (what runtimes.yaml may list)."""
    directory = resources.files(_PACKAGE).joinpath("alert_rules")
    return sorted(
        entry.name.removesuffix(RULES_SUFFIX)
        for entry in directory.iterdir()
        if entry.name.endswith(RULES_SUFFIX)
    )


def alert_rules(
    names: Iterable[str], topology: JujuTopology, latency_threshold: float
) -> dict[str, Any]:
    """The rule files `names`, as one Prometheus rule document for this application.

    Group names are prefixed with the topology identifier because Prometheus
    rejects a rule file whose group names repeat, and prometheus-k8s may load
    the same charm's rules once per related application.
    """
    groups: list[dict[str, Any]] = []
    for name in names:
        document: dict[str, Any] = yaml.safe_load(rule_file_text(name))
        for group in document["groups"]:
            groups.append(
                {
                    **group,
                    "name": f"{topology.identifier}_{group['name']}",
                    "rules": [
                        _localised(rule, topology, latency_threshold) for rule in group["rules"]
                    ],
                }
            )
    return {"groups": groups}


def _localised(rule: dict[str, Any], topology: JujuTopology, threshold: float) -> dict[str, Any]:
    threshold_text = format(threshold, "g")
    expression = str(rule["expr"]).strip()
    expression = expression.replace(TOPOLOGY_PLACEHOLDER, topology.alert_expression_str)
    annotations: dict[str, str] = rule.get("annotations", {})
    return {
        **rule,
        "expr": expression.replace(THRESHOLD_PLACEHOLDER, threshold_text),
        # Topology labels (with juju_charm) so that Alertmanager can route and group by them.
        "labels": {**rule.get("labels", {}), **topology.label_matcher_dict},
        "annotations": {
            key: value.replace(THRESHOLD_PLACEHOLDER, threshold_text)
            for key, value in annotations.items()
        },
    }
