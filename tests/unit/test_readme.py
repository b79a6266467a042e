"""The README documents every option and action the charms declare."""

from __future__ import annotations

import re

import pytest
import yaml

from model_server_charm import credentials
from tests.charms import ROOT, THIN_CHARMS, ThinCharm

README = (ROOT / "README.md").read_text()
# Names in the first column of a README table: | `name` | or | `a`, `b` |.
DOCUMENTED = set(
    re.findall(
        r"`([a-z][a-z-]*)`",
        "\n".join(line.split("|")[1] for line in README.splitlines() if line.startswith("| `")),
    )
)


@pytest.mark.parametrize("section", ["options", "actions"])
@pytest.mark.parametrize("charm", THIN_CHARMS, ids=[charm.name for charm in THIN_CHARMS])
def test_every_option_and_action_is_in_a_readme_table(charm: ThinCharm, section: str):
    charmcraft = yaml.safe_load((charm.path / "charmcraft.yaml").read_text())
    names = (
        set(charmcraft["config"]["options"])
        if section == "options"
        else set(charmcraft["actions"])
    )
    assert names - DOCUMENTED == set()


def test_the_check_sees_the_tables():
    assert {"model-uri", "predict", "metrics-endpoint"} <= DOCUMENTED
    assert "not-an-option" not in DOCUMENTED


def test_every_charm_has_a_readme_and_icon():
    for charm in THIN_CHARMS:
        assert (charm.path / "README.md").exists()
        assert (charm.path / "icon.svg").exists()


def test_the_storage_credentials_table_is_the_charms():
    table = README.split("| secret key | variable | what it is for |\n|---|---|---|\n")[1]
    rows = dict(re.findall(r"^\| `([a-z0-9-]+)` \| `(\w+)` \|", table.split("\n\n")[0], re.M))
    assert rows == {
        **credentials.ENVIRONMENT_VARIABLES,
        **{key: variable for key, (_, variable) in credentials.CREDENTIAL_FILES.items()},
    }
