"""Render every model-server charm's charmcraft.yaml from the shared template.

The options and actions common to all charms have one source of truth:
charms/model-server-charm/charmcraft.yaml.j2 plus the runtime's entry in
runtimes.yaml. Run without arguments to write the files, with --check to fail
(as `tox -e lint` does) when a committed file differs from its rendering.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jinja2

from model_server_charm.runtimes import RUNTIMES, Runtime

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "charms" / "model-server-charm" / "charmcraft.yaml.j2"
# Two workers is the measured sweet spot (README, Benchmark); some runtimes allow only one.
DEFAULT_WORKERS = 2


def charm_name(runtime: Runtime) -> str:
    """The charm directory and Charmhub name of a runtime."""
    return f"{runtime.name}-server"


def render(runtime: Runtime) -> str:
    """The charmcraft.yaml of the runtime's charm."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE.parent),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return environment.get_template(TEMPLATE.name).render(
        charm_name=charm_name(runtime),
        runtime=runtime,
        default_workers=min(DEFAULT_WORKERS, runtime.max_workers),
    )


def main() -> int:
    """Render (or with --check, compare) every charm's charmcraft.yaml."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    args = parser.parse_args()
    stale: list[Path] = []
    for runtime in RUNTIMES.values():
        path = ROOT / "charms" / charm_name(runtime) / "charmcraft.yaml"
        rendered = render(runtime)
        if args.check:
            if not path.exists() or path.read_text() != rendered:
                stale.append(path)
        else:
            path.write_text(rendered)
    for path in stale:
        print(f"{path.relative_to(ROOT)} is out of date: run python scripts/render_charmcraft.py")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
