#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The AutoGluon charm: the shared model-server implementation, for autogluon."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class AutogluonServerCharm(ModelServerCharm):
    """Serves AutoGluon models with autogluonserver."""

    runtime = RUNTIMES["autogluon"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(AutogluonServerCharm)
