#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The XGBoost charm: the shared model-server implementation, for xgboost."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class XgboostServerCharm(ModelServerCharm):
    """Serves XGBoost models with xgbserver."""

    runtime = RUNTIMES["xgboost"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(XgboostServerCharm)
