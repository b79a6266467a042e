"""The product's static check: bundle.yaml, every overlay and the Terraform modules.

No Juju here, so every deployment the repository ships is checked against what
Juju would check it against: each application's charm exists (this
repository's charmcraft.yaml, or the published charm recorded with its sources
in scripts/published_charms.yaml); every option it sets is declared, has the
declared type and leaves the charm with a valid configuration (or the unit
would be Blocked); every resource is declared and is an image this repository
releases; every relation joins a provider and a requirer of one interface.
tests/deployments.py reads each file into the same shape.
"""

from __future__ import annotations

from typing import Any

import pytest

from model_server_charm.config import AUTOSCALING_METRICS, ConfigError
from model_server_charm.runtimes import RUNTIMES, Runtime
from scripts.product import RELEASE_CHANNEL, Charm, our_charms, published_charms, rock_of_image
from scripts.render_charms import charm_name
from tests.charms import charm_config
from tests.deployments import (
    ROOT,
    TERRAFORM,
    Deployment,
    from_bundle,
    from_terraform,
    load_yaml,
    module_files,
    read_charm_module,
    with_overlay,
)

BUNDLE = load_yaml(ROOT / "bundle.yaml")
OVERLAYS = ROOT / "overlays"
OURS = our_charms()
PUBLISHED = published_charms()
RUNTIME_OF = {charm_name(runtime): runtime for runtime in RUNTIMES.values()}
# terraform/product's inputs that deploy an overlay (scripts/terraform_relations.py).
SWITCHED = {"ingress": "ingress", "s3_integrator": "s3"}
DEPLOYMENTS: dict[str, Deployment] = {
    "bundle": from_bundle(BUNDLE),
    **{
        f"bundle+{name}": from_bundle(with_overlay(BUNDLE, load_yaml(OVERLAYS / f"{name}.yaml")))
        for name in ("serverless", "gpu", "fpga", "ingress", "s3")
    },
    "terraform": from_terraform(),
    **{
        f"terraform+{overlay}": from_terraform(switches=frozenset({switch}))
        for switch, overlay in SWITCHED.items()
    },
}
APPLICATIONS = [(name, app) for name, found in DEPLOYMENTS.items() for app in found.applications]
RELATIONS = [
    (name, relation) for name, found in DEPLOYMENTS.items() for relation in found.relations
]
SERVERS = [
    (name, app)
    for name, app in APPLICATIONS
    if DEPLOYMENTS[name].applications[app].charm not in PUBLISHED
]
# Juju option types and the Python types their YAML or HCL values load as.
OPTION_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "int": (int,),
    "float": (int, float),
    "boolean": (bool,),
    "secret": (str,),
}


def _charm(name: str) -> Charm:
    if name in OURS:
        return OURS[name]
    if name in PUBLISHED:
        return PUBLISHED[name].charm
    pytest.fail(f"{name} is neither charms/{name} nor recorded in scripts/published_charms.yaml")


def _application_of(deployment: Deployment, charm: str) -> str:
    (name,) = [name for name, app in deployment.applications.items() if app.charm == charm]
    return name


def _problems(runtime: Runtime, options: dict[str, Any]) -> list[str]:
    """Why a unit with these options (over the charm's defaults) would be Blocked."""
    try:
        charm_config(runtime, **{key.replace("-", "_"): value for key, value in options.items()})
    except ConfigError as error:
        return error.problems
    return []


@pytest.mark.parametrize(("deployment", "name"), APPLICATIONS)
def test_application_is_a_known_charm_on_its_channel_and_trusted(deployment: str, name: str):
    app = DEPLOYMENTS[deployment].applications[name]
    charm = _charm(app.charm)
    if charm.name in OURS:
        assert app.channel == RELEASE_CHANNEL
        assert RUNTIME_OF[charm.name].name == name
        # Our charms set limits and create KServe objects through the Kubernetes API.
        assert app.trust is True
    else:
        assert app.channel == PUBLISHED[charm.name].channel
        assert app.trust is PUBLISHED[charm.name].trust


@pytest.mark.parametrize(("deployment", "name"), APPLICATIONS)
def test_options_are_declared_typed_and_valid(deployment: str, name: str):
    app = DEPLOYMENTS[deployment].applications[name]
    charm = _charm(app.charm)
    for option, value in app.options.items():
        assert option in charm.options, f"{charm.name} has no option {option}"
        expected = OPTION_TYPES[charm.options[option]]
        assert isinstance(value, expected), f"{option}={value!r} is not {charm.options[option]}"
        assert not (isinstance(value, bool) and bool not in expected), option
    if charm.name not in OURS:
        return
    runtime = RUNTIME_OF[charm.name]
    problems = _problems(runtime, app.options)
    needs_model = "model-uri" in charm.options and "model-uri" not in app.options
    if runtime.default_example is None and needs_model:
        # KServe publishes no example model for this runtime (autogluon): the unit
        # is Blocked until a model is set, and for nothing else.
        assert [problem.partition(":")[0] for problem in problems] == ["model-uri is not set"]
    else:
        assert problems == []


@pytest.mark.parametrize(("deployment", "name"), APPLICATIONS)
def test_resources_are_declared_images_this_repository_releases(deployment: str, name: str):
    app = DEPLOYMENTS[deployment].applications[name]
    charm = _charm(app.charm)
    for resource, value in app.resources.items():
        assert resource in charm.resources, f"{charm.name} has no resource {resource}"
        assert charm.resources[resource].type == "oci-image"
        assert rock_of_image(value) is not None, f"{value} is the image of no rock in rocks/"


@pytest.mark.parametrize(("deployment", "relation"), RELATIONS, ids=str)
def test_relation_joins_a_provider_and_a_requirer_of_one_interface(
    deployment: str, relation: tuple[tuple[str, str], tuple[str, str]]
):
    ends = []
    for name, endpoint in relation:
        charm = _charm(DEPLOYMENTS[deployment].applications[name].charm)
        assert endpoint in charm.endpoints, f"{charm.name} has no endpoint {endpoint}"
        ends.append(charm.endpoints[endpoint])
    first, second = ends
    assert first.interface == second.interface
    assert {first.role, second.role} == {"provides", "requires"}


@pytest.mark.parametrize(("deployment", "name"), SERVERS)
def test_every_model_server_is_scraped_and_graphed(deployment: str, name: str):
    found = DEPLOYMENTS[deployment]
    prometheus = _application_of(found, "prometheus-k8s")
    grafana = _application_of(found, "grafana-k8s")
    related = {frozenset(pair) for pair in found.relations}
    assert frozenset({(name, "metrics-endpoint"), (prometheus, "metrics-endpoint")}) in related
    assert frozenset({(name, "grafana-dashboard"), (grafana, "grafana-dashboard")}) in related
    assert frozenset({(grafana, "grafana-source"), (prometheus, "grafana-source")}) in related


@pytest.mark.parametrize("overlay", ["", *SWITCHED.values()])
def test_terraform_deploys_what_the_bundle_deploys(overlay: str):
    suffix = f"+{overlay}" if overlay else ""
    bundle, terraform = DEPLOYMENTS[f"bundle{suffix}"], DEPLOYMENTS[f"terraform{suffix}"]
    assert terraform.applications == bundle.applications
    assert {frozenset(pair) for pair in terraform.relations} == {
        frozenset(pair) for pair in bundle.relations
    }


@pytest.mark.parametrize("charm", sorted(OURS))
def test_charm_module_declares_the_charm(charm: str):
    module = read_charm_module(TERRAFORM / "charms" / charm)
    declared = OURS[charm]
    assert module["charm"] == charm
    assert module["option_types"] == dict(declared.options)
    assert module["resource_names"] == sorted(declared.resources)
    for role in ("provides", "requires"):
        endpoints = declared.endpoints_of(role)
        assert module["outputs"][role] == {name.replace("-", "_"): name for name in endpoints}
    defaults = {name: variable.get("default") for name, variable in module["variables"].items()}
    assert defaults["base"] == declared.base
    assert defaults["constraints"] == f"arch={declared.architectures[0]}"
    assert defaults["channel"] == RELEASE_CHANNEL
    assert defaults["trust"] is True


def test_product_module_passes_only_the_inputs_each_module_has():
    published = {entry.terraform_module: entry for entry in PUBLISHED.values()}
    for label, call in module_files(TERRAFORM / "product")["module"].items():
        source = call["source"]
        if source in published:
            inputs = published[source].terraform_module_inputs
        else:
            inputs = set(read_charm_module(TERRAFORM / "product" / source)["variables"])
        assert set(call) - {"source", "count"} <= inputs, label


def test_local_overlay_names_the_packed_charm_and_rock_of_every_model_server():
    template = load_yaml(OVERLAYS / "local.yaml")["applications"]
    servers = {name: app.charm for name, app in DEPLOYMENTS["bundle"].applications.items()}
    assert set(template) == {name for name, charm in servers.items() if charm not in PUBLISHED}
    for name, spec in template.items():
        assert spec["charm"] == f"build/{servers[name]}_*.charm"
        rock_glob = spec["resources"]["server-image"]
        if servers[name] in OURS:
            image = OURS[servers[name]].resources["server-image"].upstream_source
            rock = rock_of_image(str(image))
            assert rock is not None
            assert rock_glob == f"build/{rock.name}_*.rock"
        else:
            assert (ROOT / "rocks" / rock_glob.removeprefix("build/").split("_")[0]).is_dir()


def test_serverless_overlay_autoscales_every_model_server():
    overlay = load_yaml(OVERLAYS / "serverless.yaml")["applications"]
    assert set(overlay) == {name for deployment, name in SERVERS if deployment == "bundle"}
    for options in (spec["options"] for spec in overlay.values()):
        assert options["deployment-mode"] == "serverless"
        assert options["autoscaling-metric"] in AUTOSCALING_METRICS
        assert options["autoscaling-target"] > 0
        assert 1 <= options["min-replicas"] < options["max-replicas"]


def test_gpu_overlay_runs_huggingface_on_its_gpu_rock_with_one_gpu():
    app = DEPLOYMENTS["bundle+gpu"].applications["huggingface"]
    rock = rock_of_image(app.resources["server-image"])
    assert rock is not None
    assert rock.name == "huggingfaceserver-gpu"
    assert app.options["gpu-count"] == 1


def test_ingress_overlay_routes_every_model_server_through_traefik():
    found = DEPLOYMENTS["bundle+ingress"]
    traefik = _application_of(found, "traefik-k8s")
    related = {frozenset(pair) for pair in found.relations}
    for deployment, name in SERVERS:
        if deployment == "bundle":
            assert frozenset({(name, "ingress"), (traefik, "ingress")}) in related, name


def test_s3_overlay_relates_every_server_that_downloads_with_kserve_storage():
    found = DEPLOYMENTS["bundle+s3"]
    integrator = _application_of(found, "s3-integrator")
    related = {app for pair in found.relations for app, end in pair if end == "s3-credentials"} - {
        integrator
    }
    declaring = {
        name
        for deployment, name in SERVERS
        if deployment == "bundle"
        and "s3-credentials" in OURS[found.applications[name].charm].endpoints
    }
    assert related == declaring
    assert "proteus" not in declaring
    assert "sklearn" in declaring


def test_fpga_overlay_gives_proteus_one_fpga():
    overlay = load_yaml(OVERLAYS / "fpga.yaml")["applications"]
    assert overlay == {"proteus": {"options": {"fpga-count": 1}}}


@pytest.mark.parametrize("charm", sorted(OURS))
def test_charm_is_ready_for_charmhub(charm: str):
    document = load_yaml(ROOT / "charms" / charm / "charmcraft.yaml")
    assert document["title"]
    assert document["summary"]
    assert document["description"]
    assert {"documentation", "issues", "source", "contact"} <= set(document["links"])
    for resource in OURS[charm].resources.values():
        assert rock_of_image(str(resource.upstream_source)) is not None, resource.name


def test_the_checks_reject_a_broken_deployment(monkeypatch: pytest.MonkeyPatch):
    # Proves the checks above are not vacuous: the same functions fail on each breakage.
    broken = with_overlay(BUNDLE, {"applications": {"sklearn": {"options": {"workers": "two"}}}})
    broken["applications"]["xgboost"]["options"]["no-such-option"] = 1
    broken["applications"]["pmml"]["resources"] = {"server-image": "docker.io/library/ubuntu"}
    broken["applications"]["lightgbm"]["channel"] = "latest/stable"
    monkeypatch.setitem(DEPLOYMENTS, "broken", from_bundle(broken))
    for check, name in [
        (test_options_are_declared_typed_and_valid, "sklearn"),
        (test_options_are_declared_typed_and_valid, "xgboost"),
        (test_resources_are_declared_images_this_repository_releases, "pmml"),
        (test_application_is_a_known_charm_on_its_channel_and_trusted, "lightgbm"),
    ]:
        with pytest.raises(AssertionError):
            check("broken", name)
    with pytest.raises(AssertionError):
        test_relation_joins_a_provider_and_a_requirer_of_one_interface(
            "broken", (("sklearn", "logging"), ("prometheus", "metrics-endpoint"))
        )
