"""Observability of a model-server charm: Prometheus scraping, Grafana dashboards, Loki logs.

One module per relation, each a small `ops.Object` that names the relation
events it needs and writes what the protocol asks for when the charm's single
reconcile calls it:

- `metrics`: `metrics-endpoint` (prometheus_scrape) — scrape job and alert rules;
- `dashboards`: `grafana-dashboard` (grafana_dashboard) — the runtime's dashboards;
- `logs`: `logging` (loki_push_api) — Pebble log targets for every Loki unit;
- `rules`: the alert rule files, localised to the application's Juju topology.

These replace the Charmhub libraries usually vendored for the same relations
(prometheus_k8s.v0.prometheus_scrape, grafana_k8s.v0.grafana_dashboard,
loki_k8s.v1.loki_push_api): `charmcraft fetch-lib` needs Charmhub, which the
project's build and test machines cannot reach, and vendored copies would be
unreviewed code outside the lint and type checks. The wire format is written
from the interfaces' documented relation data, with `cosl` (PyPI) for the Juju
topology and the LZMA+base64 encoding, and is checked against a real
Prometheus in tests/workload.

Data files: `alert_rules/*.rules` (Prometheus rule files with placeholders) and
`grafana_dashboards/*.json`; each runtime names its own in runtimes.yaml.
"""
