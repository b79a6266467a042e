"""Rolling restarts: a change that restarts the server runs on one unit at a time.

The lock is charmlibs-rollingops' (peer mode), kept in the `restart` peer
relation: a unit queues its restart in its unit databag (`state`,
`operations`, `executed_at`); the leader grants the lock to one unit at a time
in the application databag (`granted_unit`, `granted_at`); the granted unit
runs `RollingRestart._restart` when it sees the grant (peer relation-changed,
or for the leader a hook its background worker dispatches), and its result
makes the leader grant the next unit. The restart, on the granted unit:

1. drain: the unit's ready check fails at once (`layer.draining`), so Juju's
   readiness probe (every 5 s, unready after one failure) takes the pod out of
   the application's Service before its server stops (`DRAIN_SECONDS`);
2. serve the new plan, the ready check still failing: one replan;
3. poll the model's readiness URL; once it answers, restore the ready check
   (the pod takes requests again) and release the lock.

A unit not ready within `READY_WAIT_SECONDS` keeps the lock and tries again
(`RETRY_HOLD`): the roll-out never takes another unit down before this one
serves. If its server exited meanwhile, the unit writes why in its databag
(`restart-failure`): its status and every waiting unit's are Blocked and name it.

Nothing else queues: a change that restarts no server (log targets, checks,
relation data) is applied at once, and so is a restart that interrupts no
serving (a unit whose model does not answer, or a unit without peers). A
server started that way comes with the loading ready check (`layer.loading`):
the unit is out of rotation until its model answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import ops
from charmlibs.rollingops import OperationResult, RollingOpsError, RollingOpsManager
from charmlibs.rollingops._peer._models import PeerAppLock

from model_server_charm import bounded
from model_server_charm.layer import ServerPlan
from model_server_charm.workload import Workload

logger = logging.getLogger(__name__)

PEER_RELATION = "restart"
RESTART_OPERATION = "restart"
# This unit's last failed restart, in its peer databag (absent: none).
FAILURE_KEY = "restart-failure"
MAX_FAILURE_LENGTH = 200
# Juju's readiness probe runs every 5 s and one failure makes the pod unready;
# the draining check fails after 1 s; then the Service's endpoints follow.
DRAIN_SECONDS = 10.0
# How long one attempt waits for the model in the hook; then the hook ends
# and the unit, still holding the lock, tries again.
READY_WAIT_SECONDS = 30.0
POLL_SECONDS = 1.0
SINGLE_UNIT_NOTE = (
    "single unit: nothing serves while it restarts (a second unit, juju add-unit,"
    " restarts one unit at a time without a gap)"
)


class RollingRestart(ops.Object):
    """Restarts this unit's server in turn with the application's other units.

    `wanted` gives the plan the configuration asks for (None: nothing to
    serve here now); `ready` asks the server whether its model answers.
    """

    def __init__(
        self,
        charm: ops.CharmBase,
        workload: Workload,
        wanted: Callable[[], ServerPlan | None],
        ready: Callable[[], bool],
    ):
        super().__init__(charm, "rolling-restart")
        self._workload = workload
        self._wanted = wanted
        self._ready = ready
        # Only with the peer relation: the library's own observers (leader-elected)
        # raise without it, and a unit without it has no one to take turns with.
        self._manager = None
        if self._relation is not None:
            self._manager = RollingOpsManager(
                charm,
                callback_targets={RESTART_OPERATION: self._restart},
                peer_relation_name=PEER_RELATION,
            )
        # Why this unit's restart could not be queued in this hook, for the status.
        self.problem: ops.StatusBase | None = None

    @property
    def _relation(self) -> ops.Relation | None:
        return self.model.get_relation(PEER_RELATION)

    def alone(self) -> bool:
        """Whether no other unit could serve while this one restarts."""
        relation = self._relation
        return self._manager is None or relation is None or not relation.units

    # --- changes -----------------------------------------------------------------------

    def converge(self, plan: ServerPlan, serving: bool) -> bool:
        """Serve `plan` now when that stops no serving, else queue this unit's turn.

        `serving`: whether this unit's model answers now. A server that starts
        (a new unit, a restart) comes with the loading ready check, and a unit
        taken out of rotation for its restart stays out: either until its model
        answers. Returns whether the plan changed now.
        """
        planned = self._workload.plan()
        restarts = plan.restarts(planned)
        if serving and restarts and not self.alone():
            self._workload.add_layers(plan.others)
            self._queue()
            return False
        if not serving and plan.drains(planned):
            plan = plan.draining()
        elif restarts or not serving:
            plan = plan.loading()
        return self._workload.serve(plan)

    def _queue(self) -> None:
        """Ask for the lock; the same request twice is one (the library deduplicates)."""
        if self._manager is None:
            return
        try:
            self._manager.request_async_lock(RESTART_OPERATION)
        except (RollingOpsError, OSError) as error:
            logger.warning("cannot queue the restart: %s", error)
            self.problem = bounded.status(
                ops.WaitingStatus(f"cannot queue this unit's restart ({error}); retrying")
            )

    def _restart(self) -> OperationResult:
        """The unit's turn: drain, restart, wait for the model; keep the lock until it serves."""
        plan = self._wanted()
        if plan is None:  # invalid configuration or serverless mode: nothing to restart here
            self._record_failure("")
            return OperationResult.RELEASE
        if plan.restarts(self._workload.plan()):
            logger.info("rolling restart: taking this unit out of rotation")
            self._workload.drain(plan)
            time.sleep(DRAIN_SECONDS)
            self._workload.serve(plan.draining())
        if self._wait_ready():
            self._workload.serve(plan)  # the ready check back: the unit takes requests again
            self._record_failure("")
            return OperationResult.RELEASE
        self._record_failure(self._failure())
        return OperationResult.RETRY_HOLD

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + READY_WAIT_SECONDS
        while not self._ready():
            if time.monotonic() >= deadline:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def _failure(self) -> str:
        """Why the restarted server does not serve, if it failed (empty: still loading)."""
        if self._workload.problem is not None:
            return self._workload.problem.message
        reason = self._workload.failure_reason(MAX_FAILURE_LENGTH)
        if reason:
            return reason
        service = self._workload.service()
        if service is None or service.is_running():
            return ""
        current = service.current
        state = current.value if isinstance(current, ops.pebble.ServiceStatus) else current
        return f"the server is {state}"

    def _record_failure(self, reason: str) -> None:
        relation = self._relation
        if relation is None:
            return
        if reason:
            logger.warning("rolling restart: this unit's server did not come back: %s", reason)
        relation.data[self.model.unit][FAILURE_KEY] = bounded.shorten(reason, MAX_FAILURE_LENGTH)

    # --- status --------------------------------------------------------------------------

    def status(self) -> ops.StatusBase | None:
        """The unit's part in a roll-out, if it has one now."""
        relation = self._relation
        if self.problem is not None or relation is None or self._manager is None:
            return self.problem
        me = self.model.unit
        holder = PeerAppLock(self.model, PEER_RELATION).granted_unit
        if holder == me.name:
            reason = relation.data[me].get(FAILURE_KEY, "")
            if not reason:
                return None
            return ops.BlockedStatus(
                f"{me.name} did not come back after its restart"
                f" ({bounded.shorten(reason, MAX_FAILURE_LENGTH)}): roll-out stopped,"
                " the other units keep serving the previous configuration"
            )
        if not self._manager.is_waiting():
            return None
        return self._waiting_status(self._manager, relation, holder)

    def _waiting_status(
        self, manager: RollingOpsManager, relation: ops.Relation, holder: str
    ) -> ops.StatusBase:
        units = [self.model.unit, *relation.units]
        pending = sum(1 for unit in units if manager.is_waiting(unit.name))
        left = f"{pending} of {len(units)} units still to restart"
        restarting = next((unit for unit in relation.units if unit.name == holder), None)
        if restarting is None:
            return ops.WaitingStatus(
                f"waiting to restart: {left}; serving the previous configuration meanwhile"
            )
        reason = relation.data[restarting].get(FAILURE_KEY, "")
        if reason:
            return ops.BlockedStatus(
                f"roll-out stopped: {holder} did not come back after its restart"
                f" ({bounded.shorten(reason, MAX_FAILURE_LENGTH)});"
                " this unit keeps serving the previous configuration"
            )
        return ops.WaitingStatus(
            f"waiting to restart: {holder} restarting, {left};"
            " serving the previous configuration meanwhile"
        )
