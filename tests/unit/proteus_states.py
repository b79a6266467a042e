"""States and models for the proteus charm's Scenario tests (the AMD Inference Server).

The server is the fake of tests/unit/fake_amdinfer.py on a real socket, on
the port the state's `http-port` names; the repository is a mount kept from
one hook to the next.
"""

from __future__ import annotations

from typing import Any

from ops import testing

ECHO = {"name": "echo", "worker": "cplusplus", "parameters": {"model": "echo"}}
ECHO_PAYLOAD = {"inputs": [{"name": "echo", "shape": [1], "datatype": "UINT32", "data": [3]}]}


def repository_model(uri: str, name: str = "adder", datatype: str = "UINT32") -> dict[str, Any]:
    """A repository entry of `models`: one input and one output of `datatype`."""
    tensor = {"name": "x", "datatype": datatype, "shape": [1]}
    return {
        "name": name,
        "uri": uri,
        "platform": "amdinfer_cpp",
        "inputs": [tensor],
        "outputs": [tensor],
    }


def state(
    port: int = 8998, mount: testing.Mount | None = None, /, **options: Any
) -> testing.State:
    """A leader whose server container (with the repository mounted) answers Pebble."""
    server = testing.Container(
        "server", can_connect=True, mounts={"models": mount} if mount else {}
    )
    return testing.State(leader=True, config={"http-port": port, **options}, containers={server})


def after(out: testing.State, port: int, **options: Any) -> testing.State:
    """The next hook's state: the same container (its files and plan), these options."""
    return testing.State(
        leader=True,
        config={"http-port": port, **options},
        containers={out.get_container("server")},
    )
