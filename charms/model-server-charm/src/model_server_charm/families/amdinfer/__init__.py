"""The `amdinfer` family: the AMD Inference Server (Proteus), its models and its API."""

from model_server_charm.families.amdinfer.family import Amdinfer

__all__ = ["Amdinfer"]
