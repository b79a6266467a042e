"""Storage credentials: only documented keys, never over the charm's own variables, never shown."""

from __future__ import annotations

import logging
import stat
from typing import Any

import pytest
from ops import testing

from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, container, running_container


@pytest.fixture
def charm() -> ThinCharm:
    """Credentials are the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


GCS_FILE = "/etc/kserve/credentials/gcs.json"

# (secret content, variables the server gets from it)
DOCUMENTED = [
    pytest.param(
        {"aws-access-key-id": "AKIA", "aws-secret-access-key": "s", "aws-session-token": "t"},
        {"AWS_ACCESS_KEY_ID": "AKIA", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
        id="s3-keys",
    ),
    pytest.param(
        {"aws-endpoint-url": "https://minio:9000", "aws-default-region": "eu-west-1"},
        {"AWS_ENDPOINT_URL": "https://minio:9000", "AWS_DEFAULT_REGION": "eu-west-1"},
        id="s3-endpoint",
    ),
    pytest.param(
        {"aws-anonymous-credential": "true", "s3-verify-ssl": "0"},
        {"awsAnonymousCredential": "true", "S3_VERIFY_SSL": "0"},
        id="s3-settings",
    ),
    pytest.param(
        {"s3-user-virtual-bucket": "true", "s3-use-accelerate": "true"},
        {"S3_USER_VIRTUAL_BUCKET": "true", "S3_USE_ACCELERATE": "true"},
        id="s3-addressing",
    ),
    pytest.param(
        {"azure-client-id": "c", "azure-client-secret": "s", "azure-tenant-id": "t"},
        {"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "t"},
        id="azure-service-principal",
    ),
    pytest.param(
        {"azure-storage-access-key": "k"}, {"AZURE_STORAGE_ACCESS_KEY": "k"}, id="azure-key"
    ),
    pytest.param({"hf-token": "hf_x"}, {"HF_TOKEN": "hf_x"}, id="hugging-face"),
    pytest.param(
        {"git-username": "u", "git-password": "p"},
        {"GIT_USERNAME": "u", "GIT_PASSWORD": "p"},
        id="git",
    ),
    pytest.param(
        {"gcs-credentials-json": "{}"}, {"GOOGLE_APPLICATION_CREDENTIALS": GCS_FILE}, id="gcs"
    ),
]

# (secret content, the keys the Blocked message must name)
UNDOCUMENTED = [
    pytest.param({"prometheus-multiproc-dir": "/x"}, "prometheus-multiproc-dir", id="charm-var"),
    pytest.param({"path": "/x"}, "path", id="path"),
    pytest.param({"pythonpath": "/x"}, "pythonpath", id="pythonpath"),
    pytest.param({"ld-preload": "/x.so"}, "ld-preload", id="ld-preload"),
    pytest.param({"aws-access-key": "AKIA"}, "aws-access-key", id="near-miss"),
    pytest.param(
        {"aws-access-key-id": "AKIA", "zz-two": "1", "kserve-launcher-error-file": "/x"},
        "kserve-launcher-error-file, zz-two",
        id="documented-and-not",
    ),
]


def _state(content: dict[str, str], box: testing.Container) -> testing.State:
    secret = testing.Secret(content, owner=None)
    return testing.State(
        config={"model-uri": MODEL_URI, "storage-credentials": secret.id},
        secrets={secret},
        containers={box},
    )


def _service(out: testing.State, charm: ThinCharm) -> Any:
    return out.get_container("server").plan.services[charm.charm_type.runtime.service_name]


@pytest.mark.parametrize(("content", "variables"), DOCUMENTED)
def test_documented_keys_become_their_variables(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    content: dict[str, str],
    variables: dict[str, str],
):
    out = ctx.run(ctx.on.config_changed(), _state(content, container()))
    environment = _service(out, charm).environment
    assert variables.items() <= environment.items()
    assert environment["PROMETHEUS_MULTIPROC_DIR"] == "/tmp/kserve-metrics"
    assert out.unit_status.name != "blocked"


@pytest.mark.parametrize(("content", "named"), UNDOCUMENTED)
def test_other_keys_block_and_change_nothing(
    ctx: testing.Context[Any], charm: ThinCharm, content: dict[str, str], named: str
):
    before = running_container(charm, 8080)
    out = ctx.run(ctx.on.config_changed(), _state(content, before))
    assert out.unit_status == testing.BlockedStatus(
        f"storage-credentials has keys the server does not read: {named}; remove them"
        " (accepted keys: aws-access-key-id, aws-secret-access-key, aws-session-token,"
        " aws-endpoint-url, aws-default-region, aws-anonymous-credential, s3-verify-ssl,"
        " s3-user-virtual-bucket, s3-use-accelerate, azure-client-id, azure-client-secret,"
        " azure-tenant-id, azure-storage-access-key, hf-token, git-username, git-password,"
        " gcs-credentials-json, aws-ca-bundle)"
    )
    assert out.get_container("server").layers == before.layers


SECRET = "s3cr3t-value-that-must-never-show"


@pytest.mark.parametrize(
    "key", ["aws-secret-access-key", "gcs-credentials-json", "undocumented-key"]
)
def test_secret_values_are_never_shown(
    ctx: testing.Context[Any], charm: ThinCharm, caplog: pytest.LogCaptureFixture, key: str
):
    with caplog.at_level(logging.DEBUG):
        out = ctx.run(ctx.on.config_changed(), _state({key: SECRET}, container()))
    assert SECRET not in out.unit_status.message
    assert SECRET not in caplog.text
    assert all(
        SECRET not in service.command
        for service in out.get_container("server").plan.services.values()
    )


def test_gcs_key_file_is_readable_by_the_server_only(ctx: testing.Context[Any], charm: ThinCharm):
    out = ctx.run(ctx.on.config_changed(), _state({"gcs-credentials-json": SECRET}, container()))
    written = out.get_container("server").get_filesystem(ctx) / GCS_FILE.lstrip("/")
    assert written.read_text() == SECRET
    assert stat.S_IMODE(written.stat().st_mode) == 0o400
