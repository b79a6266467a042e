#!/usr/bin/env python3
# Generated from charms/model-server-charm/thin/charm.py.j2 by scripts/render_charms.py.
"""The Hugging Face charm: the shared model-server implementation, for huggingface."""

import ops

from model_server_charm.charm import ModelServerCharm
from model_server_charm.runtimes import RUNTIMES


class HuggingfaceServerCharm(ModelServerCharm):
    """Serves Hugging Face models with huggingfaceserver."""

    runtime = RUNTIMES["huggingface"]


if __name__ == "__main__":  # pragma: nocover
    ops.main(HuggingfaceServerCharm)
