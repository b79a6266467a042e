"""Render every KServe rock's rockcraft.yaml and README.md from the shared templates.

What the KServe rocks share has one source of truth: rocks/rockcraft.yaml.j2
and rocks/README.rock.md.j2, filled with the rock's entry in rocks/rocks.yaml.
Run `python3 -m scripts.render_rockcraft` from the repository root to write the
files, with --check to fail (as `tox -e lint` does) when a committed file
differs from its rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from scripts.kserve_rocks import ROCKS_DIR, KServeRock, KServeRocks, load_kserve_rocks
from scripts.rendering import render_template, write_or_check

ROCKCRAFT_TEMPLATE = ROCKS_DIR / "rockcraft.yaml.j2"
README_TEMPLATE = ROCKS_DIR / "README.rock.md.j2"


def render_rock(rocks: KServeRocks, rock: KServeRock) -> dict[str, str]:
    """A rock's rendered files, by file name."""
    context: dict[str, Any] = {
        "rock": rock,
        "kserve_version": rocks.kserve_version,
        "source_tag": rocks.source_tag,
    }
    return {
        "rockcraft.yaml": render_template(ROCKCRAFT_TEMPLATE, **context),
        "README.md": render_template(README_TEMPLATE, **context),
    }


def renderings() -> dict[Path, str]:
    """Every KServe rock's rendered files, by path."""
    rocks = load_kserve_rocks()
    return {
        ROCKS_DIR / rock.name / file_name: text
        for rock in rocks.rocks.values()
        for file_name, text in render_rock(rocks, rock).items()
    }


def main() -> int:
    """Render (or with --check, compare) every KServe rock's files."""
    return write_or_check(__doc__, renderings, "python3 -m scripts.render_rockcraft")


if __name__ == "__main__":
    sys.exit(main())
