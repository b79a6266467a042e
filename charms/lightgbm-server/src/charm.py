#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The LightGBM charm: the shared model-server implementation, for lightgbm."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class LightgbmServerCharm(ModelServerCharm):
    """Serves LightGBM models with lgbserver."""

    runtime = RUNTIMES["lightgbm"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(LightgbmServerCharm)
