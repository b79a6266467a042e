#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The PaddlePaddle charm: the shared model-server implementation, for paddle."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class PaddleServerCharm(ModelServerCharm):
    """Serves PaddlePaddle models with paddleserver."""

    runtime = RUNTIMES["paddle"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(PaddleServerCharm)
