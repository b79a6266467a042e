"""Render every model-server charm's charmcraft.yaml from the shared template.

The options and actions common to all charms have one source of truth:
charms/model-server-charm/charmcraft.yaml.j2 plus the runtime's entry in
runtimes.yaml. Run without arguments to write the files, with --check to fail
(as `tox -e lint` does) when a committed file differs from its rendering.
"""

from __future__ import annotations

import sys
from pathlib import Path

from model_server_charm.families import family_for
from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts.rendering import ROOT, render_template, write_or_check

TEMPLATE = ROOT / "charms" / "model-server-charm" / "charmcraft.yaml.j2"
# Two workers is the measured sweet spot (README, Benchmark); some runtimes allow only one.
DEFAULT_WORKERS = 2


def charm_name(runtime: Runtime) -> str:
    """The charm directory and Charmhub name of a runtime."""
    return f"{runtime.name}-server"


def render(runtime: Runtime) -> str:
    """The charmcraft.yaml of the runtime's charm."""
    return render_template(
        TEMPLATE,
        charm_name=charm_name(runtime),
        runtime=runtime,
        option_groups=[kind.name for kind in family_for(runtime).group_kinds()],
        default_workers=min(DEFAULT_WORKERS, runtime.max_workers),
    )


def renderings() -> dict[Path, str]:
    """Every charm's charmcraft.yaml, by path."""
    return {
        ROOT / "charms" / charm_name(runtime) / "charmcraft.yaml": render(runtime)
        for runtime in RUNTIMES.values()
    }


def main() -> int:
    """Render (or with --check, compare) every charm's charmcraft.yaml."""
    return write_or_check(__doc__, renderings, "python scripts/render_charmcraft.py")


if __name__ == "__main__":
    sys.exit(main())
