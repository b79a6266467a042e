"""Stand-in for upstream KServe's `predictiveserver` (kserve/python/predictiveserver, v0.20).

One server for three frameworks, chosen by `--framework`: it serves the
sklearn, xgboost and lightgbm stand-ins' models, as upstream's serves those
servers' own; see tests/workload/standins/README.md.
"""

from predictiveserver.model import FRAMEWORKS, framework_model

__all__ = ["FRAMEWORKS", "framework_model"]
