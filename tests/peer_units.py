"""Several units of one application under Scenario, sharing their peer relation as Juju does.

Scenario runs one unit per `Context.run`. `Application` keeps each unit's
State; after every hook it copies what the unit wrote to the `restart` peer
relation into the other units' views (its unit databag, and the application
databag, which only the leader writes) and queues the relation-changed hook
Juju delivers to each of them. charmlibs-rollingops grants the lock to the
leader itself by starting a background process that dispatches its own
`rollingops_lock_granted` hook through `juju-exec` ten seconds later; here
that process is replaced by queueing update-status for the leader, which the
library handles with the same handler (it is also its periodic retry).
Hooks run one at a time, in order: the lock protocol does not depend on
concurrency, and every wait is the charm's own.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from unittest import mock

from charmlibs.rollingops._peer._worker import PeerRollingOpsAsyncWorker
from ops import CharmBase, testing

from model_server_charm import rolling

APP = "app"
PEER_ID = 7
# A roll-out of three units takes about 15 hooks; a unit that never comes back, forever.
MAX_HOOKS = 60

Event = Callable[[testing.Context[Any]], Any]


def peer_relation(unit: int, units: list[int]) -> testing.PeerRelation:
    """The `restart` relation as `unit` sees it, nothing written yet."""
    return testing.PeerRelation(
        rolling.PEER_RELATION,
        id=PEER_ID,
        peers_data={other: {} for other in units if other != unit},
    )


def unit_name(unit: int) -> str:
    """`app/<unit>`."""
    return f"{APP}/{unit}"


@dataclass
class Application:
    """The units of one application, their States, and the hooks Juju would run next."""

    charm_type: type[CharmBase]
    states: dict[int, testing.State]
    leader: int = 0
    pending: deque[tuple[int, Event]] = field(default_factory=deque[tuple[int, Event]])
    # Every hook run, in order: (unit, hook name).
    hooks: list[tuple[int, str]] = field(default_factory=list[tuple[int, str]])

    @classmethod
    def of(
        cls,
        charm_type: type[CharmBase],
        state_of: Callable[[int], testing.State],
        units: int,
        peers: bool = True,
    ) -> Application:
        """`units` units (leader: 0), each in `state_of(unit)` plus the peer relation.

        Without `peers` the units share nothing: each acts as a unit alone.
        """
        ids = list(range(units))
        states: dict[int, testing.State] = {}
        for unit in ids:
            state = state_of(unit)
            relations = {*state.relations, peer_relation(unit, ids)} if peers else state.relations
            states[unit] = dataclasses.replace(state, leader=unit == 0, relations=relations)
        return cls(charm_type, states)

    # --- running hooks ---------------------------------------------------------------

    def run(self, unit: int, event: Event) -> testing.State:
        """Run one hook on `unit` now; share what it wrote and queue what Juju would."""
        ctx = testing.Context(self.charm_type, app_name=APP, unit_id=unit)
        before = self.states[unit]
        hook = event(ctx)
        granted_itself: list[str] = []
        with _worker_dispatches(granted_itself):
            after = ctx.run(hook, before)
        self.hooks.append((unit, hook.name))
        self.states[unit] = after
        self._share(unit, before, after)
        if granted_itself:
            self.pending.append((unit, lambda ctx: ctx.on.update_status()))
        return after

    def settle(self, until: Callable[[], bool] = lambda: False, max_hooks: int = MAX_HOOKS) -> int:
        """Run queued hooks until none is left, `until()` holds, or `max_hooks`; how many ran."""
        ran = 0
        while self.pending and not until() and ran < max_hooks:
            unit, event = self.pending.popleft()
            if unit in self.states:
                self.run(unit, event)
                ran += 1
        return ran

    def remove(self, unit: int) -> None:
        """`unit` leaves: the others see it depart (the leader releases a lock it held)."""
        del self.states[unit]
        for other in self.states:
            relation = self.relation(other)
            peers = {u: data for u, data in relation.peers_data.items() if u != unit}
            self._set_relation(other, dataclasses.replace(relation, peers_data=peers))
            self.pending.append((other, self._departed(other, unit)))

    # --- reading ---------------------------------------------------------------------

    def relation(self, unit: int) -> testing.PeerRelation:
        """The peer relation as `unit` sees it now."""
        relation = self.states[unit].get_relation(PEER_ID)
        assert isinstance(relation, testing.PeerRelation)
        return relation

    def unit_data(self, unit: int) -> dict[str, str]:
        """What `unit` wrote in its peer databag."""
        return dict(self.relation(unit).local_unit_data)

    def granted(self) -> str:
        """The unit holding the lock (the application databag, as the leader wrote it)."""
        return self.relation(self.leader).local_app_data.get("granted_unit", "")

    # --- sharing ---------------------------------------------------------------------

    def _share(self, writer: int, before: testing.State, after: testing.State) -> None:
        if not any(relation.id == PEER_ID for relation in after.relations):
            return
        old = before.get_relation(PEER_ID)
        new = after.get_relation(PEER_ID)
        unit_changed = dict(old.local_unit_data) != dict(new.local_unit_data)
        app_changed = dict(old.local_app_data) != dict(new.local_app_data)
        for other in self.states:
            if other == writer or not (unit_changed or app_changed):
                continue
            relation = self.relation(other)
            relation = dataclasses.replace(
                relation,
                local_app_data=dict(new.local_app_data),
                peers_data={**relation.peers_data, writer: dict(new.local_unit_data)},
            )
            self._set_relation(other, relation)
            self.pending.append((other, self._changed(other, writer)))

    # The relation is read when the hook runs: an event must carry the State's own object.
    def _changed(self, unit: int, writer: int) -> Event:
        return lambda ctx: ctx.on.relation_changed(self.relation(unit), remote_unit=writer)

    def _departed(self, unit: int, departing: int) -> Event:
        return lambda ctx: ctx.on.relation_departed(
            self.relation(unit), remote_unit=departing, departing_unit=departing
        )

    def _set_relation(self, unit: int, relation: testing.PeerRelation) -> None:
        state = self.states[unit]
        others = {r for r in state.relations if r.id != PEER_ID}
        self.states[unit] = dataclasses.replace(state, relations={*others, relation})


@contextmanager
def _worker_dispatches(granted_itself: list[str]) -> Generator[None]:
    """Record the leader granting itself the lock instead of starting the library's worker."""

    def start(worker: PeerRollingOpsAsyncWorker) -> None:
        granted_itself.append(worker.model.unit.name)

    with mock.patch.object(PeerRollingOpsAsyncWorker, "start", start):
        yield
