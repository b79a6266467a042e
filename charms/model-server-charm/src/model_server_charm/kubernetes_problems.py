"""What a failed Kubernetes API call means for the operator.

Every fault the API can show the charm — a refusal (403, 409, 422), a missing
object, a server error (5xx, with or without a JSON Status), a connection
refused or timed out, or no API configuration at all in the pod — becomes a
status here, with what the operator can do about it. Nothing of it escapes a
hook: `KUBERNETES_ERRORS` is what every caller of the API catches.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx2 as httpx
import ops
from lightkube import ApiError
from lightkube.core.exceptions import ConfigError

from model_server_charm.k8s_resources import StatefulSetShapeError, is_forbidden

logger = logging.getLogger(__name__)

# ApiError is an httpx.HTTPStatusError; transport faults (refused, reset, timeouts)
# are httpx.TransportError; a 5xx whose body claims JSON but is not raises JSONDecodeError.
KUBERNETES_ERRORS = (httpx.HTTPError, ConfigError, json.JSONDecodeError, StatefulSetShapeError)
KubernetesError = httpx.HTTPError | ConfigError | json.JSONDecodeError | StatefulSetShapeError

RETRY = "retrying on the next hook"


def trust_message(app: str) -> str:
    """What the operator runs to give the charm the Kubernetes permissions it needs."""
    return f"run: juju trust {app} --scope=cluster"


class KubernetesProblemError(Exception):
    """The cluster cannot be made to match the configuration; `status` tells the operator."""

    def __init__(self, status: ops.StatusBase):
        super().__init__(status.message)
        self.status = status


def describe(error: KubernetesError) -> str:
    """The fault in a few words, without the request's URL and headers."""
    if isinstance(error, ApiError):
        return f"API error {error.status.code}: {error.status.message}"
    if isinstance(error, httpx.HTTPStatusError):
        return f"API answered {error.response.status_code} {error.response.reason_phrase}"
    if isinstance(error, httpx.TimeoutException):
        return f"API timed out ({type(error).__name__})"
    if isinstance(error, httpx.TransportError):
        return f"API unreachable: {error}"
    if isinstance(error, ConfigError):
        return f"no API configuration in the pod: {error}"
    if isinstance(error, json.JSONDecodeError):
        return "API answered with a body that is not JSON"
    return str(error)


def problem_status(error: KubernetesError, app: str, *, required: bool) -> ops.StatusBase | None:
    """The status an API fault gives, or None when nothing the operator asked for needs the API.

    Refusals the operator can fix are Blocked with what to do; everything that
    may pass by itself (server errors, the API unreachable) is Waiting, and the
    charm tries again on its next hook (update-status at the latest).
    """
    if not required:
        forbidden = isinstance(error, ApiError) and is_forbidden(error)
        # Deployed without --trust is a supported way to run a sidecar server: not a warning.
        level = logging.INFO if forbidden else logging.WARNING
        logger.log(level, "Kubernetes API not needed by the options: %s", describe(error))
        return None
    if isinstance(error, ApiError):
        if is_forbidden(error):
            return ops.BlockedStatus(trust_message(app))
        if error.status.code in (400, 422):
            return ops.BlockedStatus(f"Kubernetes refused the change: {error.status.message}")
    if isinstance(error, StatefulSetShapeError):
        return ops.BlockedStatus(f"cannot set limits: {error}")
    return ops.WaitingStatus(f"Kubernetes {describe(error)}; {RETRY}")


@dataclass(frozen=True)
class Write:
    """One change to the cluster, and how a status names it once done."""

    done: str
    send: Callable[[bool], None]  # called with dry_run


def write_all(writes: Sequence[Write], app: str) -> None:
    """Send the writes, dry runs first when there are several.

    A refusal of any of them then leaves the cluster as it was. When a real
    write fails after an earlier one succeeded, the KubernetesProblemError says
    what was done, so the operator (and the next hook) knows what is half done.
    """
    if len(writes) > 1:
        for write in writes:
            write.send(True)
    for index, write in enumerate(writes):
        try:
            write.send(False)
        except KUBERNETES_ERRORS as error:
            if index == 0:
                raise
            status = problem_status(error, app, required=True) or ops.WaitingStatus("")
            done = "; ".join(w.done for w in writes[:index])
            half_done = type(status)(f"half done: {done}, then {status.message}")
            raise KubernetesProblemError(half_done) from error
