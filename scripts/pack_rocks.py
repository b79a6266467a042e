#!/usr/bin/env python3
"""Stage each rock with the bundle's shared rock files, then pack it with rockcraft.

Why staging: rockcraft (in its default managed mode) mounts only the project
directory into its build instance, so a rockcraft.yaml cannot reach
``../common``. Every KServe rock ships the same launcher and log
configuration from ``rocks/common``; this script copies ``rocks/<name>/`` to
``build/rocks/<name>/`` and ``rocks/common/`` into it as ``common/``, which is
what the rocks' ``source: common`` parts refer to, and runs ``rockcraft pack``
there. The packed ``<name>_<version>_<arch>.rock`` is left in that directory.

Usage::

    python3 scripts/pack_rocks.py                  # every rock under rocks/
    python3 scripts/pack_rocks.py sklearnserver    # only these rocks
    python3 scripts/pack_rocks.py --stage-only     # stage, do not pack (no rockcraft needed)
    python3 scripts/pack_rocks.py sklearnserver -- --verbosity=debug   # extra rockcraft args
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROCKS_DIR = ROOT / "rocks"
COMMON = "common"
DEFAULT_OUTPUT = ROOT / "build" / "rocks"
INSTALL_HINT = "sudo snap install rockcraft --classic"
# Byte-code and editor droppings are not part of any rock.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.rock", ".*")


class PackError(Exception):
    """A rock cannot be staged or packed; the message says why and what to do."""


def available_rocks(rocks_dir: Path = ROCKS_DIR) -> list[str]:
    """Every rocks/<name>/ that has a rockcraft.yaml (rocks/common is not a rock)."""
    return sorted(
        path.parent.name
        for path in rocks_dir.glob("*/rockcraft.yaml")
        if path.parent.name != COMMON
    )


def stage(name: str, output_dir: Path, rocks_dir: Path = ROCKS_DIR) -> Path:
    """Copy rocks/<name>/ and rocks/common/ (as common/) into a fresh output_dir/<name>/."""
    source = rocks_dir / name
    if not (source / "rockcraft.yaml").is_file():
        raise PackError(f"{source}/rockcraft.yaml not found; rocks: {available_rocks(rocks_dir)}")
    common = rocks_dir / COMMON
    if not common.is_dir():
        raise PackError(f"{common} not found: the shared rock files are missing")
    staged = output_dir / name
    # A fresh copy each time: a file deleted from rocks/ must not linger in the rock.
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(source, staged, ignore=IGNORED)
    shutil.copytree(common, staged / COMMON, ignore=IGNORED)
    return staged


def rockcraft_executable() -> str:
    """The rockcraft command on PATH, or a PackError saying how to install it."""
    rockcraft = shutil.which("rockcraft")
    if rockcraft is None:
        raise PackError(
            f"rockcraft is not installed (not on PATH); install it with: {INSTALL_HINT}"
        )
    return rockcraft


def pack(staged: Path, rockcraft: str, extra_args: Sequence[str] = ()) -> list[Path]:
    """Run `rockcraft pack` in the staged directory and return the .rock files it made."""
    before = set(staged.glob("*.rock"))
    result = subprocess.run([rockcraft, "pack", *extra_args], cwd=staged, check=False)
    if result.returncode != 0:
        raise PackError(f"rockcraft pack failed in {staged} (exit status {result.returncode})")
    return sorted(set(staged.glob("*.rock")) - before)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """Command-line arguments; anything after `--` goes to `rockcraft pack` unchanged."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("rocks", nargs="*", help="rock names (default: every rock)")
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=DEFAULT_OUTPUT,
        help=f"where to stage and pack (default: {DEFAULT_OUTPUT.relative_to(ROOT)})",
    )
    parser.add_argument(
        "--stage-only", action="store_true", help="stage the rocks without packing them"
    )
    ours, rockcraft_args = list(argv), []
    if "--" in ours:
        split = ours.index("--")
        ours, rockcraft_args = ours[:split], ours[split + 1 :]
    args = parser.parse_args(ours)
    args.rockcraft_args = rockcraft_args
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Stage, then pack, every requested rock; stop at the first failure."""
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = args.rocks or available_rocks()
    try:
        # Fail before staging anything when packing is impossible anyway.
        rockcraft = None if args.stage_only else rockcraft_executable()
        for name in names:
            staged = stage(name, args.output_dir.resolve())
            print(f"staged {name} in {staged}")
            if rockcraft is not None:
                for rock in pack(staged, rockcraft, args.rockcraft_args):
                    print(f"packed {rock}")
    except PackError as error:
        print(f"pack_rocks: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
