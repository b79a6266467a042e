"""Stand-in for upstream KServe's `paddleserver` (kserve/python/paddleserver, v0.20) on Paddle.

Same module name, command line and model files as upstream: a Paddle
inference program (`.pdmodel`, or `.json` as Paddle 3 saves it) and its
`.pdiparams`, run by `paddle.inference`; see tests/workload/standins/README.md.
"""

from paddleserver.model import PaddleModel

__all__ = ["PaddleModel"]
