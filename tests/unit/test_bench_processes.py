"""The benchmark's view of processes: /proc parsing, process trees, and which server ran."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import servers
from bench.processes import (
    PAGE_SIZE,
    ProcessStat,
    parse_stat,
    process_tree,
    stop_group_leader,
    tree_memory,
)
from bench.servers import STANDINS, imported_from, origin_kind

# A /proc/<pid>/stat line whose name holds a space and a parenthesis, as Linux writes it.
STAT = b"4242 (kserve worker) 1) S 4200 4242 4242 0 -1 4194304 10 0 0 0 150 50 0 0 20 0 3 0 7 "
STAT_TAIL = b"123456789 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n"


def test_stat_line_gives_name_parent_cpu_and_resident_pages():
    assert parse_stat(STAT + STAT_TAIL) == ProcessStat("kserve worker) 1", 4200, 200, 2560)


def test_process_tree_is_the_root_and_every_descendant():
    table = {
        1: ProcessStat("init", 0, 0, 0),
        10: ProcessStat("server", 1, 0, 0),
        11: ProcessStat("worker", 10, 0, 0),
        12: ProcessStat("jvm", 11, 0, 0),
        20: ProcessStat("other", 1, 0, 0),
    }

    assert process_tree(10, table) == [10, 11, 12]
    assert process_tree(99, table) == []


def test_tree_memory_sums_resident_and_proportional_sets(tmp_path: Path):
    for pid, parent, pages, pss_kb in ((10, 1, 100, 300), (11, 10, 50, 100), (20, 1, 999, 999)):
        (tmp_path / str(pid)).mkdir()
        stat = STAT.replace(b"4242 ", b"", 1).replace(b" 4200 ", f" {parent} ".encode(), 1)
        (tmp_path / str(pid) / "stat").write_bytes(
            f"{pid} ".encode() + stat + STAT_TAIL.replace(b" 2560 ", f" {pages} ".encode(), 1)
        )
        (tmp_path / str(pid) / "smaps_rollup").write_text(
            f"00400000-7fff0000 ---p 00000000 00:00 0 [rollup]\nRss: 1 kB\nPss: {pss_kb} kB\n"
        )

    memory = tree_memory(10, tmp_path)

    assert (memory.processes, memory.resident_bytes, memory.proportional_bytes) == (
        2,
        150 * PAGE_SIZE,
        400 * 1024,
    )


def test_imported_from_asks_the_running_process(tmp_path: Path):
    package, elsewhere = tmp_path / "lib" / "sklearnserver", tmp_path / "work"
    package.mkdir(parents=True)
    elsewhere.mkdir()
    (package / "__init__.py").write_text("")
    environment = {**os.environ, "PYTHONPATH": str(package.parent)}
    process = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], env=environment, cwd=elsewhere
    )
    try:
        time.sleep(0.1)  # the process has its environment once exec'd
        found = imported_from(process.pid, "sklearnserver")
    finally:
        process.kill()
        process.wait()

    assert found == str(package / "__init__.py"), "not where the bench would import it from"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        (
            "{checkout}/sklearnserver/sklearnserver/__init__.py",
            "upstream's own server (KSERVE_PYTHON_DIR)",
        ),
        (f"{STANDINS}/sklearnserver/__init__.py", "the workload tests' stand-in"),
        ("/usr/lib/python3/dist-packages/sklearnserver/__init__.py", "installed"),
    ],
)
def test_origin_kind_says_whose_server_ran(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, path: str, kind: str
):
    monkeypatch.setenv(servers.KSERVE_PYTHON_DIR_ENV, str(tmp_path))

    assert origin_kind(path.format(checkout=tmp_path)) == kind


# How long a SIGKILLed process may take to end on a busy machine.
END_TIMEOUT_S = 10.0
# A group leader that starts a child in its group, tells its pid, then ignores SIGTERM
# (when asked to) and waits.
GROUP = (
    "import signal, subprocess, sys, time\n"
    "child = subprocess.Popen(['sleep', '60'])\n"
    "if sys.argv[1] == 'stubborn': signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "print(child.pid, flush=True)\n"
    "time.sleep(60)\n"
)


def _group(kind: str) -> tuple[subprocess.Popen[bytes], int]:
    leader = subprocess.Popen(
        [sys.executable, "-c", GROUP, kind], stdout=subprocess.PIPE, start_new_session=True
    )
    assert leader.stdout is not None
    return leader, int(leader.stdout.readline())


@pytest.mark.parametrize("kind", ["polite", "stubborn"])
def test_stopping_a_group_leader_ends_its_whole_group(
    kind: str, capsys: pytest.CaptureFixture[str]
):
    leader, child = _group(kind)

    stop_group_leader(leader, timeout_s=0.5)

    assert leader.returncode is not None
    assert _ended(child)
    told = f"pid {leader.pid} did not stop within 0.5 s: killed" in capsys.readouterr().err
    assert told == (kind == "stubborn")


def _ended(pid: int) -> bool:
    """Whether `pid` ends within a bound: SIGKILL is delivered, not waited for.

    A zombie counts as ended: a child of the ended leader lingers as one until init reaps it.
    """
    deadline = time.monotonic() + END_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except FileNotFoundError:
            return True
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return True
        time.sleep(0.05)
    return False
