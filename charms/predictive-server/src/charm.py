#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The predictive charm: the shared model-server implementation, for predictive."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class PredictiveServerCharm(ModelServerCharm):
    """Serves predictive models with predictiveserver."""

    runtime = RUNTIMES["predictive"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(PredictiveServerCharm)
