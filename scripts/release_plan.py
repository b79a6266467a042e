"""What the release workflow publishes: every rock, and every charm with its rock.

Prints GitHub Actions step outputs (`name=<JSON>` lines, for $GITHUB_OUTPUT):

    rocks=[{"rock": "sklearnserver", "image": "ghcr.io/kserve-bundle/sklearnserver:0.20.0"}, ...]
    charms=[{"charm": "sklearn-server", "resource": "server-image",
             "image": "ghcr.io/kserve-bundle/sklearnserver:0.20.0"}, ...]
    channel="latest/edge"

Rocks come from rocks/*/rockcraft.yaml and charms from charms/*/charmcraft.yaml,
so a new one is released without editing the workflow. Each charm's image is
its oci-image resource's `upstream-source`, which must be one of the rocks
released with it: otherwise this fails, naming the charm, and nothing is released.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from scripts.product import RELEASE_CHANNEL, our_charms, rocks


class ReleaseError(Exception):
    """A charm's resource is not one of the rocks this repository releases."""


def plan() -> dict[str, Any]:
    """The rocks and charms to release, as the workflow's matrices."""
    released = rocks()
    images = {rock.image for rock in released.values()}
    charms: list[dict[str, str]] = []
    for charm in our_charms().values():
        for resource in charm.resources.values():
            if resource.type != "oci-image":
                continue
            if resource.upstream_source not in images:
                raise ReleaseError(
                    f"{charm.name}: resource {resource.name} names {resource.upstream_source},"
                    f" which is none of the rocks released ({', '.join(sorted(images))})"
                )
            charms.append(
                {"charm": charm.name, "resource": resource.name, "image": resource.upstream_source}
            )
    return {
        "rocks": [{"rock": rock.name, "image": rock.image} for rock in released.values()],
        "charms": charms,
        "channel": RELEASE_CHANNEL,
    }


def main() -> int:
    """Print the plan as step outputs, or say why there is none."""
    try:
        outputs = plan()
    except ReleaseError as error:
        print(f"release_plan: {error}", file=sys.stderr)
        return 1
    for name, value in outputs.items():
        print(f"{name}={json.dumps(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
