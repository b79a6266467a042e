"""Stand-in for upstream KServe's `xgbserver` (kserve/python/xgbserver, v0.20) on the real xgboost.

Same module name, command line (`--model_dir`, `--nthread`) and model rules as
upstream; see tests/workload/standins/README.md for what it leaves out.
"""

from xgbserver.model import XGBoostModel

__all__ = ["XGBoostModel"]
