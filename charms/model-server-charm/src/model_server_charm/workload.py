"""`Workload`: everything the charm asks of the server container's Pebble.

The charm computes what should run (layers, files); this class makes Pebble
match in one pass — files, layers, one replan, checks — and is the only place
that talks to Pebble. A Pebble fault (not reachable, a service that exits as
soon as it starts, a refused push) never escapes: it becomes `problem`, the
status this hook reports, and the next hook tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import BinaryIO

import ops

from model_server_charm.layer import ALIVE_CHECK, READY_CHECK, SERVER_USER, ServerPlan

logger = logging.getLogger(__name__)

RETRY = "retrying on the next hook"
# The last lines of a failed start's task log are the server's own last words.
START_LOG_LINES = 3


def _text(file: BinaryIO, limit: int) -> str:
    """At most `limit` bytes of a pulled file as text (bytes that are not UTF-8 as U+FFFD)."""
    with file:
        return file.read(limit).decode(errors="replace")


def start_failure(error: ops.pebble.ChangeError) -> str:
    """Why a service did not start, from Pebble's change: its error and its last log lines.

    Pebble's error ends with one line per failed task, the reason in parentheses:
    `- Start service "x" (cannot start service: exited quickly with code 1)`.
    """
    last_line = error.err.strip().splitlines()[-1] if error.err.strip() else ""
    reason = last_line[last_line.find("(") + 1 : -1] if last_line.endswith(")") else last_line
    log = [line for task in error.change.tasks for line in task.log or []]
    tail = " | ".join(line.strip() for line in log[-START_LOG_LINES:])
    return f"{reason}: {tail}" if tail else reason


class Workload:
    """The workload container, as far as the charm drives its server through Pebble."""

    def __init__(
        self,
        container: ops.Container,
        service_name: str,
        image_hint: str,
        failure_file: str | None,
    ):
        self.container = container
        self.service_name = service_name
        # Where the server leaves why it stopped (None: nowhere).
        self.failure_file = failure_file
        # What the operator checks when the service cannot even start (the rock attached).
        self.image_hint = image_hint
        # What Pebble refused in this hook, for the status.
        self.problem: ops.StatusBase | None = None

    def can_connect(self) -> bool:
        """Whether Pebble in the container answers."""
        return self.container.can_connect()

    def serve(self, plan: ServerPlan) -> bool:
        """Write the files, add the layers and replan: the server runs what the plan says.

        Services and checks the plan does not define are disabled and stopped
        (`ServerPlan.retired`). Before a restart the alive check is stopped: the
        new server opens its port once its model is loaded, and the charm arms
        the check again then. Returns whether the plan changed.
        """
        try:
            planned = self.container.get_plan()
            restarts = plan.restarts(planned)
            if restarts:
                self._stop_active([ALIVE_CHECK])
            self._write_files(plan.files, plan.managed_files)
            changed = self._add_layers({**plan.layers, **plan.retired(planned)})
            if restarts and self.failure_file and self.container.exists(self.failure_file):
                # The reason of an earlier failure is stale once the server restarts.
                self.container.remove_path(self.failure_file)
            # Pebble restarts only the services whose plan changed.
            self.container.replan()
            self._stop_retired(plan)
            self._start_inactive(READY_CHECK)  # serverless mode stops it
        except ops.pebble.ChangeError as error:
            self._record(
                ops.BlockedStatus(
                    f"the server exits as soon as it starts ({start_failure(error)}):"
                    f" {self.image_hint}"
                )
            )
            return False
        except ops.pebble.Error as error:
            self._pebble_fault("cannot start the server", error)
            return False
        return changed

    def drain(self, plan: ServerPlan) -> None:
        """Take the unit out of rotation: its ready check fails at once; nothing restarts."""
        try:
            self._stop_active([ALIVE_CHECK])
            self._add_layers(plan.drain_layers())
        except ops.pebble.Error as error:
            self._pebble_fault("cannot take the unit out of rotation", error)

    def add_layers(self, layers: Mapping[str, ops.pebble.LayerDict]) -> None:
        """Add layers without (re)starting anything (e.g. log targets while stopped)."""
        try:
            self._add_layers(layers)
        except ops.pebble.Error as error:
            self._pebble_fault("cannot update the plan", error)

    def arm_alive_check(self) -> None:
        """Start the liveness check: the model serves, so a hung server is now restarted."""
        try:
            self._start_inactive(ALIVE_CHECK)
        except ops.pebble.Error as error:
            self._pebble_fault("cannot start the alive check", error)

    def stop(self) -> None:
        """Stop the server and its checks.

        Juju probes the pod through Pebble's health endpoint: a failing alive
        check would get the container restarted, a failing ready check would keep
        the pod unready and stall every StatefulSet rollout.
        """
        try:
            self._stop_running([self.service_name])
            self._stop_active(list(self.container.get_checks()))
        except ops.pebble.Error as error:
            self._pebble_fault("cannot stop the server", error)

    # --- reads -----------------------------------------------------------------------

    def plan(self) -> ops.pebble.Plan:
        """The plan now (empty when Pebble cannot say)."""
        try:
            return self.container.get_plan()
        except ops.pebble.Error as error:
            self._pebble_fault("cannot read the plan", error)
            return ops.pebble.Plan({})

    def pebble_version(self) -> str | None:
        """The version the container's Pebble reports (`v1.26.0`; None when it does not answer)."""
        try:
            return self.container.pebble.get_system_info().version
        except ops.pebble.Error:  # not reachable: asked again next hook, nothing to report
            return None

    def service(self) -> ops.pebble.ServiceInfo | None:
        """The server's service as Pebble reports it (None: not planned, or Pebble silent)."""
        try:
            return self.container.get_services(self.service_name).get(self.service_name)
        except ops.pebble.Error as error:
            self._pebble_fault("cannot read the server's state", error)
            return None

    def failure_reason(self, limit: int) -> str:
        """Why the server last exited, as it recorded it, shortened to `limit`."""
        if self.failure_file is None:
            return ""
        try:
            pulled = self.container.pull(self.failure_file, encoding=None)
            reason = _text(pulled, limit + 1).strip()
        except ops.pebble.PathError as error:
            if error.kind != "not-found":
                self._pebble_fault("cannot read why the server stopped", error)
            return ""  # no file: the server has not failed under this plan
        except ops.pebble.Error as error:
            self._pebble_fault("cannot read why the server stopped", error)
            return ""
        if len(reason) > limit:
            reason = reason[: limit - 1] + "…"
        return reason

    # --- the server's own files (a model repository) ----------------------------------
    def read_text(self, path: str, limit: int) -> str | None:
        """At most `limit` bytes of a file, as text (None: no such file, or Pebble failed).

        Bytes that are not UTF-8 are read as U+FFFD: the file is someone else's.
        """
        try:
            return _text(self.container.pull(path, encoding=None), limit)
        except ops.pebble.PathError as error:
            if error.kind != "not-found":
                self._pebble_fault(f"cannot read {path}", error)
        except ops.pebble.Error as error:
            self._pebble_fault(f"cannot read {path}", error)
        return None

    def open_binary(self, path: str) -> BinaryIO | None:
        """A file of the container, to stream (None when Pebble cannot give it)."""
        try:
            return self.container.pull(path, encoding=None)
        except ops.pebble.Error as error:
            self._pebble_fault(f"cannot read {path}", error)
            return None

    def write(self, path: str, source: str | BinaryIO) -> bool:
        """Write a file the server reads (its user's, world-readable); whether it was written."""
        try:
            self.container.push(
                path,
                source,
                make_dirs=True,
                permissions=0o644,
                user=SERVER_USER,
                group=SERVER_USER,
            )
        except ops.pebble.Error as error:
            self._pebble_fault(f"cannot write {path}", error)
            return False
        return True

    def directories(self, path: str) -> list[str]:
        """The names of the directories in `path` (none when it does not exist)."""
        try:
            entries = self.container.list_files(path)
        except ops.pebble.PathError:
            return []
        except ops.pebble.APIError as error:
            # Pebble answers a path that does not exist with a 404, not a PathError.
            if error.code != 404:
                self._pebble_fault(f"cannot list {path}", error)
            return []
        except ops.pebble.Error as error:
            self._pebble_fault(f"cannot list {path}", error)
            return []
        return [entry.name for entry in entries if entry.type == ops.pebble.FileType.DIRECTORY]

    def remove_tree(self, path: str) -> None:
        """Remove a directory and everything in it."""
        try:
            self.container.remove_path(path, recursive=True)
        except ops.pebble.Error as error:
            self._pebble_fault(f"cannot remove {path}", error)

    # --- internals ---------------------------------------------------------------------
    def _write_files(self, files: Mapping[str, str], managed_files: Iterable[str]) -> None:
        for path, content in files.items():
            self.container.push(
                path,
                content,
                make_dirs=True,
                permissions=0o400,
                user=SERVER_USER,
                group=SERVER_USER,
            )
        for path in managed_files:
            if path not in files and self.container.exists(path):
                self.container.remove_path(path)

    def _add_layers(self, layers: Mapping[str, ops.pebble.LayerDict]) -> bool:
        before = self.container.get_plan().to_dict()
        for name, layer in layers.items():
            self.container.add_layer(name, layer, combine=True)
        return self.container.get_plan().to_dict() != before

    def _stop_retired(self, plan: ServerPlan) -> None:
        services, checks = plan.defines()
        planned = self.container.get_plan()
        self._stop_running([name for name in planned.services if name not in services])
        self._stop_active([name for name in planned.checks if name not in checks])

    def _stop_running(self, services: list[str]) -> None:
        if not services:
            return
        infos = self.container.get_services(*services).values()
        running = [info.name for info in infos if info.is_running()]
        if running:
            self.container.stop(*running)

    def _stop_active(self, checks: list[str]) -> None:
        if not checks:
            return
        active = [
            name
            for name, info in self.container.get_checks(*checks).items()
            if info.status != ops.pebble.CheckStatus.INACTIVE
        ]
        if active:
            self.container.stop_checks(*active)

    def _start_inactive(self, check: str) -> None:
        info = self.container.get_checks(check).get(check)
        if info is not None and info.status == ops.pebble.CheckStatus.INACTIVE:
            self.container.start_checks(check)

    def _pebble_fault(self, what: str, error: ops.pebble.Error) -> None:
        self._record(ops.WaitingStatus(f"{what}: Pebble: {error}; {RETRY}"))

    def _record(self, status: ops.StatusBase) -> None:
        logger.warning("server container: %s", status.message)
        if self.problem is None:
            self.problem = status
