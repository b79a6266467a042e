"""Serving benchmark: the charm's default server command against upstream KServe's.

Run it with ``tox -e bench -- --runtime <name>`` (that is, ``python -m bench``
from the repository root; ``python -m bench --help`` lists the options). It
needs ``wrk`` (``apt-get install wrk``) and, for pmml, a Java runtime.

One run builds a small iris model of the runtime's framework into a scratch
directory (``bench.models``), then serves it with each command in turn on
loopback ports, under the same bounded load, sending the runtime's upstream
example request:

* upstream: the runtime's KServe ClusterServingRuntime, as KServe runs it:
  ``python -m <server>`` with the runtime's args (``bench.commands``);
* charm: the command and environment the charm puts in its Pebble layer, taken
  from the charm's code with Juju's defaults rather than retyped, with the
  rock's paths mapped onto this repository (``bench.commands``).

It reports requests per second, p50 and p99 latency and their ratios, the
framework's in-process prediction rate as the ceiling (``bench.frameworks``),
and checks that each server counted every request in ``/metrics`` (so no speed
comes from losing metrics). The figures are printed, never asserted: the
machine is shared and noisy. The process fails only when a server does not
start or when the metrics check fails.
"""
