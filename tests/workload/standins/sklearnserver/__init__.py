"""Stand-in for upstream KServe's `sklearnserver` package (kserve/python/sklearnserver, v0.20).

The upstream servers are not published on PyPI, so the workload tests and the
benchmark run this package instead: same module name, same command line, same
model loading rules and the same `kserve.Model` request path. It is kept
minimal on purpose (no multi-model repository fallback); pointing the tests at
a kserve checkout runs the real server in its place.
"""

from sklearnserver.model import SKLearnModel

__all__ = ["SKLearnModel"]
