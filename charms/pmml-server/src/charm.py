#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The PMML charm: the shared model-server implementation, for pmml."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class PmmlServerCharm(ModelServerCharm):
    """Serves PMML models with pmmlserver."""

    runtime = RUNTIMES["pmml"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(PmmlServerCharm)
