"""The parts of the unit's status the charm computes from what it observes in this hook.

`collect_unit_status` (charm.py) is the only caller: nothing here is
remembered across hooks. `workload_status` says what the server in this pod is
doing; `relation_notes` what the relations add to an Active or Waiting status: the ingress
URL (or why the ingress relation does not apply), a source of storage
credentials that is unused, and which way the unit's logs go.
"""

from __future__ import annotations

import ops

from model_server_charm import bounded, rolling
from model_server_charm.config import CharmConfig
from model_server_charm.families.base import ServerFamily
from model_server_charm.relations.ingress import SERVERLESS_NOTE
from model_server_charm.workload import Workload

# A status line, not a traceback: the whole reason is in the server's log.
MAX_REASON_LENGTH = 200
# The ingress URL in the status: the whole URL is in `show-endpoint`.
STATUS_URL_BYTES = 200


def workload_status(
    server: Workload, family: ServerFamily, config: CharmConfig, *, ready: bool, alone: bool
) -> ops.StatusBase:
    """What the server in this pod does: waits, loads, failed, runs without its model, serves."""
    if not server.can_connect():
        return ops.WaitingStatus("waiting for the server container (Pebble not ready)")
    service = server.service()
    if service is None:
        return ops.WaitingStatus("waiting for the server to be configured")
    if ready:
        return ops.ActiveStatus(serving_message(family, config))
    failure = server.failure_reason(MAX_REASON_LENGTH)
    if failure:
        return ops.WaitingStatus(f"model failed to load (Pebble retries): {failure}")
    if not service.is_running():
        current = service.current
        state = current.value if isinstance(current, ops.pebble.ServiceStatus) else current
        return ops.WaitingStatus(f"server is {state}; see juju debug-log")
    if missing := family.missing_model(config):
        return ops.BlockedStatus(missing)
    loading = family.loading_message(config)
    if alone:
        loading += f"; {rolling.SINGLE_UNIT_NOTE}"
    return ops.WaitingStatus(loading)


def serving_message(family: ServerFamily, config: CharmConfig) -> str:
    """The Active message of a serving unit."""
    message = family.serving_message(config)
    if config.server.autoscaling_target and not config.server.autoscaling_active:
        message += "; autoscaling-target inactive in sidecar mode"
    return message


def relation_notes(
    *, ingress_url: str | None, ingress_inapplicable: bool, unused_credentials: str, log_path: str
) -> list[str]:
    """The relations' notes, in the order they are shown."""
    if ingress_inapplicable:
        ingress = SERVERLESS_NOTE
    else:
        ingress = (
            f"ingress {bounded.shorten(ingress_url, STATUS_URL_BYTES)}" if ingress_url else ""
        )
    return [note for note in (ingress, unused_credentials, log_path) if note]


def with_notes(status: ops.StatusBase | None, notes: list[str]) -> ops.StatusBase | None:
    """An Active or Waiting status with the notes after its message; any other as it is.

    A Blocked status says what the operator must fix first; notes would bury it.
    """
    if isinstance(status, (ops.ActiveStatus, ops.WaitingStatus)) and notes:
        return ops.StatusBase.from_name(status.name, "; ".join([status.message, *notes]))
    return status
