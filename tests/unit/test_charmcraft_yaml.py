"""Every charm's charmcraft.yaml, checked offline with charmcraft's own models.

`charmcraft pack` is the first place a broken charmcraft.yaml would otherwise
fail, and it needs snaps and a build container that development machines do not
have. Charmcraft's pydantic models are what `pack` validates with, so loading
each file through them here catches the same mistakes (unknown base, bad option
type, wrong default type, unregistered plugin, extra keys) in the unit tests.

On top of that, two contracts that charmcraft cannot know about:

- every charm declares exactly the shared schema (options and actions rendered
  from charms/model-server-charm/charmcraft.yaml.j2 for its runtime), so no charm
  drifts from the one implementation it runs;
- a charm declares exactly the options of its config classes (the shared
  `ServerConfig` and its family's and runtime's option groups), no more, no
  fewer, and Juju's defaults equal the classes' defaults, so a unit that never
  saw `juju config` behaves as the config classes document.
"""

from __future__ import annotations

import copy
import dataclasses
import pathlib
from typing import Any

import pydantic
import pytest
import yaml
from charmcraft.models.config import JujuConfig
from charmcraft.models.project import CharmcraftProject, PlatformCharm

from model_server_charm.config import ServerConfig
from model_server_charm.families import family_for
from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts.render_charms import charm_name, render
from tests.charms import charm_config

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHARM_FILES = sorted(ROOT.glob("charms/*/charmcraft.yaml"))
# Options whose charmcraft.yaml default is not the config class's, on purpose:
# `workers` is chosen per runtime by the renderer, and a secret option has no default
# (and a runtime's `option-defaults` in runtimes.yaml).
DEFAULTS_NOT_FROM_CONFIG_CLASS = frozenset({"workers", "storage-credentials"})
# JSON types Juju accepts for action parameters (they are JSON Schema).
JSON_SCHEMA_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object"})


def _charm_id(path: pathlib.Path) -> str:
    return path.parent.name


def _load(path: pathlib.Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path} is not a YAML mapping"
    return data


def _validate(data: dict[str, Any]) -> PlatformCharm:
    """Validate a charmcraft.yaml document the way `charmcraft pack` does.

    `CharmcraftProject.unmarshal` picks the project class (platforms vs. bases)
    and validates base, platforms, parts (against the registered plugins) and
    metadata; the project keeps `config` as a plain dict, so the options go
    through charmcraft's `JujuConfig`, which types each option and its default.
    """
    project = CharmcraftProject.unmarshal(copy.deepcopy(data))
    assert isinstance(project, PlatformCharm), "expected a platforms-style (base:) charm"
    JujuConfig.model_validate(data.get("config") or {})
    return project


def _runtime_of(path: pathlib.Path) -> Runtime:
    by_charm = {charm_name(runtime): runtime for runtime in RUNTIMES.values()}
    name = _charm_id(path)
    assert name in by_charm, f"{name} serves no runtime in runtimes.yaml"
    return by_charm[name]


def _config_defaults(runtime: Runtime) -> dict[str, Any]:
    """The defaults of the charm's config classes, keyed by Juju option name."""
    kinds = (ServerConfig, *family_for(runtime).group_kinds())
    return {
        field.name.replace("_", "-"): field.default
        for kind in kinds
        for field in dataclasses.fields(kind)
    }


def test_there_are_charms_to_check():
    # Guards the parametrised tests below against passing over an empty glob.
    assert CHARM_FILES, "no charms/*/charmcraft.yaml found"


def test_every_runtime_has_a_charm_and_every_charm_a_runtime():
    charms = {_charm_id(path) for path in CHARM_FILES}
    assert charms == {charm_name(runtime) for runtime in RUNTIMES.values()}


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_charmcraft_yaml_is_valid_for_charmcraft(path: pathlib.Path):
    # from_yaml_file also runs charmcraft's preprocessing (default parts,
    # metadata.yaml/config.yaml/actions.yaml merging) exactly as `pack` does.
    project = CharmcraftProject.from_yaml_file(path)
    assert isinstance(project, PlatformCharm)
    assert project.name == _charm_id(path)
    _validate(_load(path))


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_monorepo_part_builds_this_charm_from_the_repository_root(path: pathlib.Path):
    # charmcraft 4.5 monorepo packing: the part's source is the repository root
    # (so the shared package is inside the build), source-subdir the charm.
    part = _load(path)["parts"]["charm"]
    source_root = (path.parent / part["source"]).resolve()
    assert source_root == ROOT
    assert (source_root / part["source-subdir"]).resolve() == path.parent
    assert (path.parent / "pyproject.toml").is_file()
    assert (path.parent / "src" / "charm.py").is_file()


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_containers_use_declared_oci_image_resources(path: pathlib.Path):
    data = _load(path)
    resources = data.get("resources") or {}
    for name, container in (data.get("containers") or {}).items():
        resource = container.get("resource")
        assert resource in resources, f"container {name} names undeclared resource {resource}"
        assert resources[resource]["type"] == "oci-image"


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_charm_declares_exactly_the_shared_schema(path: pathlib.Path):
    # Stricter than "the file is up to date" in `tox -e lint`: whatever the
    # text, the options and actions Juju sees must be the rendered ones.
    data = _load(path)
    expected = yaml.safe_load(render(_runtime_of(path)))
    assert data["config"] == expected["config"]
    assert data["actions"] == expected["actions"]
    assert data["containers"] == expected["containers"]
    assert data["resources"] == expected["resources"]


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_options_are_the_config_classes_fields_with_their_defaults(path: pathlib.Path):
    runtime = _runtime_of(path)
    options: dict[str, dict[str, Any]] = _load(path)["config"]["options"]
    class_defaults = _config_defaults(runtime)
    # An option without a field would be dropped silently by load_config; a field
    # without an option would never change from its default.
    assert set(options) == set(class_defaults)
    chosen = DEFAULTS_NOT_FROM_CONFIG_CLASS | set(runtime.option_defaults)
    mismatched = {
        name: (option.get("default"), class_defaults[name])
        for name, option in options.items()
        if name not in chosen and option.get("default") != class_defaults[name]
    }
    assert not mismatched, f"charmcraft.yaml default vs config class default: {mismatched}"


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_defaults_make_a_valid_configuration_once_the_model_is_set(path: pathlib.Path):
    # model-uri has no sensible default; everything else must be valid as shipped
    # (proteus serves no model until `models` names some: valid, and empty).
    runtime = _runtime_of(path)
    options: dict[str, dict[str, Any]] = _load(path)["config"]["options"]
    values = {
        name.replace("-", "_"): option["default"]
        for name, option in options.items()
        if "default" in option
    }
    if "model_uri" in values:
        example = runtime.default_example
        values["model_uri"] = example.model_uri if example else "s3://models/any"
    config = charm_config(runtime, **values)
    assert config.runtime is runtime


@pytest.mark.parametrize("path", CHARM_FILES, ids=_charm_id)
def test_actions_are_well_formed_json_schema(path: pathlib.Path):
    # charmcraft keeps `actions` as a plain dict (its JujuActions model is not
    # wired in), so check what Juju will check when the charm is deployed.
    actions: dict[str, dict[str, Any]] = _load(path)["actions"]
    family = family_for(_runtime_of(path))
    assert set(actions) == {"predict", "smoke-test", "show-endpoint", *family.extra_actions()}
    for name, action in actions.items():
        assert action.get("description"), f"action {name} has no description"
        params: dict[str, dict[str, Any]] = action.get("params", {})
        assert set(action.get("required", [])) <= set(params), name
        for param_name, schema in params.items():
            assert schema.get("type") in JSON_SCHEMA_TYPES, f"{name}.{param_name}"
            assert schema.get("description"), f"{name}.{param_name} has no description"
            if "enum" in schema and "default" in schema:
                assert schema["default"] in schema["enum"], f"{name}.{param_name}"


def _sklearn_document() -> dict[str, Any]:
    return _load(ROOT / "charms" / "sklearn-server" / "charmcraft.yaml")


def _unknown_base(data: dict[str, Any]) -> None:
    data["base"] = "ubuntu@99.04"


def _bad_option_type(data: dict[str, Any]) -> None:
    data["config"]["options"]["http-port"]["type"] = "integer"


def _default_of_wrong_type(data: dict[str, Any]) -> None:
    data["config"]["options"]["http-port"]["default"] = "8080"


def _unregistered_plugin(data: dict[str, Any]) -> None:
    data["parts"]["charm"]["plugin"] = "no-such-plugin"


def _unknown_key(data: dict[str, Any]) -> None:
    data["bundle-of"] = ["sklearn"]


@pytest.mark.parametrize(
    "breakage",
    [_unknown_base, _bad_option_type, _default_of_wrong_type, _unregistered_plugin, _unknown_key],
)
def test_validator_rejects_a_broken_charmcraft_yaml(breakage: Any):
    # Proves the validation above is not vacuous: the same helper that accepts
    # every committed file rejects each kind of breakage.
    data = _sklearn_document()
    _validate(data)
    breakage(data)
    with pytest.raises(pydantic.ValidationError):
        _validate(data)
