"""Server families: each runtime's data names one (`family:` in runtimes.yaml)."""

from __future__ import annotations

from model_server_charm.families.amdinfer import Amdinfer
from model_server_charm.families.base import ServerFamily
from model_server_charm.families.kserve_python import KServePython
from model_server_charm.runtimes import Runtime

FAMILIES: dict[str, type[ServerFamily]] = {"kserve-python": KServePython, "amdinfer": Amdinfer}


def family_for(runtime: Runtime) -> ServerFamily:
    """The family that runs this runtime's server."""
    return FAMILIES[runtime.family](runtime)
