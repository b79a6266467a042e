#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The scikit-learn charm: the shared model-server implementation, for sklearn."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class SklearnServerCharm(ModelServerCharm):
    """Serves scikit-learn models with sklearnserver."""

    runtime = RUNTIMES["sklearn"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(SklearnServerCharm)
