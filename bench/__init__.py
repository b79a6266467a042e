"""Serving benchmark: the charm's default server command against upstream KServe's.

Run it with ``tox -e bench`` (that is, ``python -m bench`` from the repository
root; ``python -m bench --help`` lists the options). It needs ``wrk``
(``apt-get install wrk``).

One run trains a small iris classifier into a scratch directory, then serves it
with each command in turn on loopback ports, under the same bounded load:

* upstream: the KServe ClusterServingRuntime's command,
  ``python -m sklearnserver --model_name=... --model_dir=... --http_port=...``;
* charm: the command and environment the charm puts in its Pebble layer, taken
  from ``model_server_charm.workload`` rather than retyped, with the rock's
  paths mapped onto this repository (see ``bench.servers.rock_paths_on_host``).

It reports requests per second, p50 and p99 latency and their ratios, the
model's in-process prediction rate as the ceiling, and checks that the charm's
server counted every request in ``/metrics`` (so its speed does not come from
losing metrics). The figures are printed, never asserted: the machine is
shared and noisy. The process fails only when a server does not start or when
the metrics check fails.
"""
