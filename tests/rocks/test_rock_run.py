"""Run the packed rock: its own service, and the charm's exact command line, serve a model.

Needs a container engine (docker or podman answering `<engine> info`) and a
packed rock (`tox -e pack` collects it in build/, `python3 scripts/pack_rocks.py`
leaves it in build/rocks/<name>/); without either the tests skip and say which
is missing.
The model is trained inside the rock itself, so the host needs no machine
learning library and the model file matches the rock's library version.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.kserve_rocks import ROOT
from tests.charm_plan import charm_plan
from tests.charms import THIN_CHARMS, ThinCharm
from tests.rocks.rockcraft_projects import ROCKS, RockProject

MODEL_DIR = "/mnt/models"
READY_TIMEOUT = 240.0
# The upstream sklearn example's model, an SVC on iris: the example request gets [1, 1].
IRIS_SVC = (
    "import joblib\n"
    "from sklearn import datasets, svm\n"
    "iris = datasets.load_iris()\n"
    "model = svm.SVC(gamma='scale').fit(iris.data, iris.target)\n"
    f"joblib.dump(model, '{MODEL_DIR}/model.joblib')\n"
)
# Python run inside the rock to write a tiny model to MODEL_DIR, per runtime, that
# answers the runtime's example request (runtimes.yaml) as upstream's example model does.
# Not here: lightgbm (its example's answer is a list of probabilities, compared by
# argmax), pmml (no PMML writer in the rock), paddle (an image model), huggingface
# (its example needs a trained sentiment model from the Hub), autogluon (training
# takes minutes and gigabytes); those rocks are checked by the tests that need no engine.
MODEL_RECIPES = {
    "sklearn": IRIS_SVC,
    # The predictive server serves scikit-learn models by default (--framework=sklearn).
    "predictive": IRIS_SVC,
    # Iris rows 1-3, 51-53 and 101-103 (three of each species), with XGBoost alone:
    # the xgbserver rock has no scikit-learn. [5.1,3.5,1.4,0.2] -> class 0.
    "xgboost": (
        "import numpy as np\n"
        "import xgboost as xgb\n"
        "rows = [[5.1, 3.5, 1.4, 0.2], [4.9, 3.0, 1.4, 0.2], [4.7, 3.2, 1.3, 0.2],\n"
        "        [7.0, 3.2, 4.7, 1.4], [6.4, 3.2, 4.5, 1.5], [6.9, 3.1, 4.9, 1.5],\n"
        "        [6.3, 3.3, 6.0, 2.5], [5.8, 2.7, 5.1, 1.9], [7.1, 3.0, 5.9, 2.1]]\n"
        "train = xgb.DMatrix(np.array(rows), label=[0, 0, 0, 1, 1, 1, 2, 2, 2])\n"
        "params = {'objective': 'multi:softmax', 'num_class': 3, 'min_child_weight': 0}\n"
        f"xgb.train(params, train, num_boost_round=10).save_model('{MODEL_DIR}/model.json')\n"
    ),
}

# Module scope: the rock is loaded and the model trained once per charm, not per test.
pytestmark = pytest.mark.parametrize(
    "charm", THIN_CHARMS, ids=[c.name for c in THIN_CHARMS], scope="module"
)


def run(*command: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output; raise with that output when it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command)} failed: {result.stderr or result.stdout}")
    return result


def rock_of(charm: ThinCharm) -> RockProject:
    """rocks/<server module>/, the rock the charm's workload container runs."""
    rocks = {rock.name: rock for rock in ROCKS}
    return rocks[charm.charm_type.runtime.server_module]


def packed_rock(rock: RockProject) -> Path:
    """The newest .rock file of this rock's version; skip when it has not been packed."""
    pattern = f"{rock.name}_{rock.data['version']}_*.rock"
    # scripts/pack.sh collects rocks in build/; scripts/pack_rocks.py leaves them staged.
    places = [ROOT / "build", ROOT / "build" / "rocks" / rock.name, rock.path.parent, ROOT]
    found = sorted(
        (path for place in places for path in place.glob(pattern)),
        key=lambda path: path.stat().st_mtime,
    )
    if not found:
        pytest.skip(f"no packed {pattern} (run: python3 scripts/pack_rocks.py {rock.name})")
    return found[-1]


def load_image(engine: str, rock_file: Path, tag: str) -> str:
    """Copy the rock (an OCI archive) into the engine's image store; return the image name."""
    if shutil.which("skopeo"):
        image = f"localhost/{tag}"
        destination = (
            f"docker-daemon:{image}" if engine == "docker" else f"containers-storage:{image}"
        )
        run("skopeo", "--insecure-policy", "copy", f"oci-archive:{rock_file}", destination)
        return image
    output = run(engine, "load", "--input", str(rock_file)).stdout
    loaded = [
        line.split(":", 1)[1].strip() for line in output.splitlines() if "Loaded image" in line
    ]
    assert loaded, f"{engine} load printed no image: {output}"
    return loaded[-1]


@pytest.fixture(scope="module")
def image(engine: str, charm: ThinCharm) -> str:
    """The charm's rock, loaded into the engine."""
    if charm.charm_type.runtime.name not in MODEL_RECIPES:
        pytest.skip(f"no tiny-model recipe for {charm.charm_type.runtime.name} yet")
    rock = rock_of(charm)
    rock_file = packed_rock(rock)
    return load_image(engine, rock_file, f"{rock.name}:{rock.data['version']}-test")


@pytest.fixture(scope="module")
def model_dir(
    engine: str, image: str, charm: ThinCharm, tmp_path_factory: pytest.TempPathFactory
) -> Path:
    """A directory holding a tiny model, written by the rock's own Python as its run-user."""
    path = tmp_path_factory.mktemp("model")
    path.chmod(0o777)  # the rock's run-user is not the host user
    recipe = MODEL_RECIPES[charm.charm_type.runtime.name]
    run(
        engine, "run", "--rm", "--entrypoint", "python3",
        "--volume", f"{path}:{MODEL_DIR}", image, "-c", recipe,
    )  # fmt: skip
    return path


@pytest.fixture
def containers(engine: str) -> Iterator[list[str]]:
    """Containers a test starts, removed afterwards."""
    started: list[str] = []
    yield started
    for container in started:
        subprocess.run([engine, "rm", "--force", container], capture_output=True, check=False)


def start(engine: str, containers: list[str], *arguments: str) -> str:
    """`<engine> run --detach` with these arguments; return the container id."""
    container = run(engine, "run", "--detach", *arguments).stdout.strip()
    containers.append(container)
    return container


def host_port(engine: str, container: str, port: int) -> int:
    """The host port published for the container's port."""
    mapping = run(engine, "port", container, f"{port}/tcp").stdout.strip().splitlines()
    return int(mapping[0].rsplit(":", 1)[1])


def flag_value(argv: list[str], flag: str) -> str:
    """The value of `--flag=value` in a command line (the last one wins, as in argparse)."""
    values = [arg.split("=", 1)[1] for arg in argv if arg.startswith(f"{flag}=")]
    assert values, f"no {flag} in {argv}"
    return values[-1]


def http(method: str, url: str, body: dict[str, Any] | None = None) -> tuple[int, str]:
    """One request; (status, body), or (0, reason) when nothing answers."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as error:
        return 0, str(error)


def wait_until_ready(engine: str, container: str, base_url: str, model_name: str) -> None:
    """Poll the model's readiness (the port opens only once the model has loaded)."""
    deadline = time.monotonic() + READY_TIMEOUT
    status, answer = 0, ""
    while time.monotonic() < deadline:
        status, answer = http("GET", f"{base_url}/v2/models/{model_name}/ready")
        if status == 200:
            return
        state = run(engine, "inspect", "--format", "{{.State.Running}}", container).stdout
        if state.strip() != "true":
            break
        time.sleep(2)
    logs = subprocess.run([engine, "logs", container], capture_output=True, text=True, check=False)
    pytest.fail(f"{model_name} not ready ({status} {answer}); logs:\n{logs.stdout}{logs.stderr}")


def assert_serves(engine: str, container: str, port: int, charm: ThinCharm, model: str) -> None:
    """Health, the upstream example's prediction, and /metrics counting it."""
    base_url = f"http://127.0.0.1:{host_port(engine, container, port)}"
    wait_until_ready(engine, container, base_url, model)
    assert http("GET", f"{base_url}/v2/health/live")[0] == 200
    example = charm.charm_type.runtime.default_example
    if example is None or example.expected is None:
        pytest.skip(f"{charm.name}: no upstream example answer to compare")
    status, answer = http("POST", f"{base_url}/v1/models/{model}:predict", example.request)
    assert (status, json.loads(answer)) == (200, example.expected)
    status, metrics = http("GET", f"{base_url}/metrics")
    assert status == 200
    assert f'request_predict_seconds_count{{model_name="{model}"}}' in metrics
    uid = run(engine, "exec", container, "id", "-u").stdout.strip()
    assert uid != "0", "the server runs as the rock's run-user, not root"


def test_rock_service_serves_a_model(
    engine: str, image: str, model_dir: Path, containers: list[str], charm: ThinCharm
) -> None:
    """`docker run <rock>`: Pebble starts the rock's own service on /mnt/models."""
    argv = rock_of(charm).service_command().argv
    port = int(flag_value(argv, "--http_port"))
    container = start(
        engine, containers, "--publish", f"127.0.0.1::{port}",
        "--volume", f"{model_dir}:{MODEL_DIR}:ro", image,
    )  # fmt: skip
    assert_serves(engine, container, port, charm, flag_value(argv, "--model_name"))


def test_charm_command_serves_a_model_in_the_rock(
    engine: str, image: str, model_dir: Path, containers: list[str], charm: ThinCharm
) -> None:
    """The charm's exact argv and environment, run in the rock as the charm's user."""
    service = charm_plan(charm, {"model-uri": MODEL_DIR, "model-name": "iris"})
    port = int(flag_value(service.argv, "--http_port"))
    environment = [
        option
        for key, value in service.environment.items()
        for option in ("--env", f"{key}={value}")
    ]
    container = start(
        engine, containers, "--publish", f"127.0.0.1::{port}", "--user", service.user,
        "--volume", f"{model_dir}:{MODEL_DIR}:ro", *environment,
        "--entrypoint", service.argv[0], image, *service.argv[1:],
    )  # fmt: skip
    assert_serves(engine, container, port, charm, flag_value(service.argv, "--model_name"))
