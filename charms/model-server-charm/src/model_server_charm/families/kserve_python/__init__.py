"""The `kserve-python` family: KServe's Python model servers, run through the rock's launcher."""

from model_server_charm.families.kserve_python.family import KServePython

__all__ = ["KServePython"]
