"""Serving benchmark: the charm's default server command against upstream's.

Run it with ``tox -e bench -- --runtime <name>`` (that is, ``python -m bench``
from the repository root; ``python -m bench --help`` lists the options); the
heavy frameworks' runtimes in their own environments (``tox -e bench-paddle``,
``tox -e bench-autogluon``). It needs ``wrk`` (``apt-get install wrk``) and,
for pmml, a Java runtime.

One run builds a small model of the runtime's framework into a scratch
directory (``bench.frameworks``; proteus: the rock's echo repository entry),
then serves it with each command in turn on loopback ports, under the same
bounded load, sending the runtime's upstream example request
(``bench.comparison`` says what a comparison is):

* upstream: the runtime's KServe ClusterServingRuntime, as KServe runs it:
  ``python -m <server>`` with the runtime's args (``bench.commands``); for
  proteus, amdinfer-server's default command line (``bench.amdinfer``);
* charm: the command and environment the charm puts in its Pebble layer, taken
  from the charm's code with Juju's defaults rather than retyped, with the
  rock's paths mapped onto this repository, at its default worker count and
  at each ``--workers`` count within the charm's cap.

The server code is the workload tests' stand-ins, or upstream's own servers
with KSERVE_PYTHON_DIR (proteus: only a real build, AMDINFER_PREFIX); the
report says which ran, as read from each running process.

It reports requests per second, p50 and p99 latency and their ratios, the
server's resident memory (its process tree from /proc, ``bench.processes``,
and the launcher's /metrics), the CPU of the server and of every other
process (``bench.cpu``) and whether the machine was idle, the framework's
in-process prediction rate as the ceiling, whether each server counted every
request in ``/metrics`` (so no speed comes from losing metrics), and the
charm's own reconcile and import times (``bench.charm_cost``). The figures
are printed, never asserted: the machine is shared and noisy. The process
fails only when a server does not start or when the metrics check fails.
"""
