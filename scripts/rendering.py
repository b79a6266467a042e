"""Render files from Jinja2 templates, and check that committed renderings are current.

Used by scripts/render_charms.py and scripts/render_rockcraft.py. Each
renders a set of files; run without arguments a script writes them, with
--check (as `tox -e lint` runs it) it writes nothing and fails when a
committed file differs from its rendering.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import jinja2

ROOT = Path(__file__).resolve().parent.parent


def render_template(
    template: Path, filters: Mapping[str, Callable[..., Any]] | None = None, **context: Any
) -> str:
    """One template rendered; an undefined name is an error, not an empty string."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(template.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    environment.filters.update(filters or {})
    return environment.get_template(template.name).render(**context)


def stale_files(renderings: Mapping[Path, str]) -> list[Path]:
    """The files that are missing or differ from their rendering."""
    return [
        path for path, text in renderings.items() if not path.is_file() or path.read_text() != text
    ]


def write_or_check(
    description: str | None,
    renderings: Callable[[], Mapping[Path, str]],
    fix_command: str,
    argv: Sequence[str] | None = None,
) -> int:
    """The command line of a render script: write every rendering, or --check them."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args(argv)
    rendered = renderings()
    if not args.check:
        for path, text in rendered.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        return 0
    stale = stale_files(rendered)
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date: run {fix_command}")
    return 1 if stale else 0
