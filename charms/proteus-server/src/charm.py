#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The AMD Inference Server charm: the shared model-server implementation, for proteus."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class ProteusServerCharm(ModelServerCharm):
    """Serves AMD Inference Server models with proteus-server."""

    runtime = RUNTIMES["proteus"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(ProteusServerCharm)
