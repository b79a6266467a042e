"""`RelationObserver`: the shape every relation module of the charm shares.

Each relation module (observability/, relations/) is a small `ops.Object`
that observes nothing itself: it names the relation events after which what
it reads or writes may have changed (`events`, from `event_kinds`), and the
charm runs its one reconcile on them, which calls the module.
"""

from __future__ import annotations

from typing import ClassVar

import ops


class RelationObserver(ops.Object):
    """One relation endpoint of the charm, and the events that matter to it."""

    # The relation events (attribute names of the endpoint's events) the charm reconciles on.
    event_kinds: ClassVar[tuple[str, ...]] = ("relation_changed", "relation_broken")

    def __init__(self, charm: ops.CharmBase, relation_name: str):
        super().__init__(charm, relation_name)
        self._charm = charm
        self._relation_name = relation_name

    @property
    def events(self) -> tuple[ops.BoundEvent, ...]:
        """The relation events after which this module must run again."""
        relation = self._charm.on[self._relation_name]
        return tuple(getattr(relation, kind) for kind in self.event_kinds)
