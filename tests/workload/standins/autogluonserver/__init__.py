"""Stand-in for upstream KServe's `autogluonserver` (kserve/python/autogluonserver, v0.20).

Same module name, command line and model rule as upstream: `--model_dir` is
an AutoGluon TabularPredictor directory, loaded with `TabularPredictor.load`;
see tests/workload/standins/README.md for what it leaves out.
"""

from autogluonserver.model import AutoGluonModel

__all__ = ["AutoGluonModel"]
