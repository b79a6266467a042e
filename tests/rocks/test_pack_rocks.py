"""scripts/pack_rocks.py stages what the parts refer to, and explains a missing rockcraft."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scripts.kserve_rocks import ROOT
from tests.rocks.rockcraft_projects import ROCKS, load_rock

SCRIPT = ROOT / "scripts" / "pack_rocks.py"


def pack_rocks(*arguments: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script as a user would, optionally with another PATH."""
    environment = None if path is None else {"PATH": path}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *arguments],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )


def test_staged_rocks_find_their_common_sources(tmp_path: Path) -> None:
    result = pack_rocks("--stage-only", "--output-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    for rock in ROCKS:
        staged = load_rock(tmp_path / rock.name / "rockcraft.yaml")
        assert staged.data == rock.data
        assert not list((tmp_path / rock.name).rglob("__pycache__"))
        for name, part in staged.common_parts().items():
            source = tmp_path / rock.name / str(part["source"])
            assert source.is_dir(), f"part {name}: {source} missing from the staged rock"
            for origin in part.get("organize", {}):
                assert (source / origin).exists(), f"part {name}: {origin} not staged"


def test_missing_rockcraft_is_explained(tmp_path: Path) -> None:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = pack_rocks("--output-dir", str(tmp_path / "out"), path=str(empty_path))
    assert result.returncode == 1
    assert "sudo snap install rockcraft --classic" in result.stderr
    assert not (tmp_path / "out").exists(), "nothing is staged when packing cannot happen"


@pytest.mark.parametrize("name", ["no-such-rock", "common"])
def test_unknown_rock_is_refused(tmp_path: Path, name: str) -> None:
    result = pack_rocks("--stage-only", "--output-dir", str(tmp_path), name)
    assert result.returncode == 1
    assert "rockcraft.yaml not found" in result.stderr


def test_pack_sh_rejects_an_unknown_name() -> None:
    """scripts/pack.sh sorts names into charms and rocks; a typo stops it before any build."""
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "pack.sh"), "huggingfaceserver-gpu", "no-such-rock"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "no-such-rock is neither charms/no-such-rock nor rocks/no-such-rock" in result.stderr
