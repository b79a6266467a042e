"""Stand-in for upstream KServe's `pmmlserver` (kserve/python/pmmlserver, v0.20) on JPMML.

Same module name, command line, model rules and one-process limit as
upstream: the model is evaluated by the JPMML evaluator in a Java process
reached through Py4J; see tests/workload/standins/README.md.
"""

from pmmlserver.model import PmmlModel

__all__ = ["PmmlModel"]
