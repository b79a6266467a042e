"""Stand-in for upstream KServe's `lgbserver` (kserve/python/lgbserver, v0.20) on LightGBM.

Same module name, command line (`--model_dir`, `--nthread`), model rules and
single worker process as upstream; see tests/workload/standins/README.md.
"""

from lgbserver.model import LightGBMModel

__all__ = ["LightGBMModel"]
