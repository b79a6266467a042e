"""The server downloads its model with the s3-credentials relation's keys, from a loopback S3.

moto's server (in this process, on loopback) holds a bucket with the sklearn
case's model file, and enforces IAM authentication once set up
(`/moto-api/reset-auth`): from then on a request must be signed with a key
of a known IAM user allowed to read the bucket. The charm runs under Scenario
with an `s3-credentials` relation holding what s3-integrator sends (endpoint,
region, bucket, access-key, secret-key), and the server is started from the
plan the charm writes: the sklearn server (the stand-in, or upstream's with
KSERVE_PYTHON_DIR) downloads the model with kserve-storage and serves it. With
a wrong secret key the same download is refused and the server never serves.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path

import pytest
from ops import testing

from bench.servers import ServerStartError, free_port
from tests.workload.charm_cases import CASES, CharmCase
from tests.workload.harness import running_server

pytestmark = pytest.mark.slow

BUCKET = "models"
PREFIX = "iris/v1"
REGION = "us-east-1"
READ_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
}
# A failed download ends the server quickly; this only bounds a hang.
REFUSED_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class LoopbackS3:
    """moto's server with the model uploaded and a reader's key; authentication enforced."""

    endpoint: str
    access_key: str
    secret_key: str


@pytest.fixture(scope="module")
def case() -> CharmCase:
    return next(case for case in CASES if case.name == "sklearn")


@pytest.fixture(scope="module")
def s3(case: CharmCase, tmp_path_factory: pytest.TempPathFactory) -> Generator[LoopbackS3]:
    # Imported here: only `tox -e workload` installs moto, and the heavy environments
    # collect this module too (deselected by marker, but imported).
    import boto3
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    try:
        setup = {"endpoint_url": endpoint, "region_name": REGION}
        admin = {"aws_access_key_id": "setup", "aws_secret_access_key": "setup"}
        iam = boto3.client("iam", **setup, **admin)
        iam.create_user(UserName="model-reader")
        iam.put_user_policy(
            UserName="model-reader", PolicyName="read", PolicyDocument=json.dumps(READ_POLICY)
        )
        key = iam.create_access_key(UserName="model-reader")["AccessKey"]
        bucket = boto3.client("s3", **setup, **admin)
        bucket.create_bucket(Bucket=BUCKET)
        model_dir = tmp_path_factory.mktemp("s3-model")
        case.build(model_dir)
        for file in model_dir.iterdir():
            bucket.upload_file(str(file), BUCKET, f"{PREFIX}/{file.name}")
        # From now on every request must be signed by a known IAM user's key.
        enforce = urllib.request.Request(
            f"{endpoint}/moto-api/reset-auth", data=b"0", headers={"Content-Type": "text/plain"}
        )
        urllib.request.urlopen(enforce, timeout=10).close()
        yield LoopbackS3(endpoint, key["AccessKeyId"], key["SecretAccessKey"])
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def no_other_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Only the charm's plan may give the server credentials: none from this machine."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))


def _s3_integrator(s3: LoopbackS3, secret_key: str) -> testing.Relation:
    data = {
        "bucket": BUCKET,
        "endpoint": s3.endpoint,
        "region": REGION,
        "access-key": s3.access_key,
        "secret-key": secret_key,
    }
    return testing.Relation(
        "s3-credentials", remote_app_name="s3-integrator", remote_app_data=data
    )


def test_the_model_downloads_with_the_relations_keys_and_serves(
    case: CharmCase, s3: LoopbackS3, tmp_path: Path
):
    options = {**case.options, "model-uri": f"s3://{BUCKET}/{PREFIX}"}
    relation = _s3_integrator(s3, s3.secret_key)
    with running_server(
        case.charm, options, tmp_path / "unused", tmp_path, relations=(relation,)
    ) as server:
        assert server.plan.environment["AWS_ACCESS_KEY_ID"] == s3.access_key
        example = case.examples[0]
        answer = server.client.infer(example.protocol, json.dumps(example.body).encode())
        assert answer.status == 200, answer.body
        assert example.answer(json.loads(answer.body)) == example.expected


def test_a_wrong_secret_key_is_refused_and_nothing_serves(
    case: CharmCase, s3: LoopbackS3, tmp_path: Path
):
    options = {**case.options, "model-uri": f"s3://{BUCKET}/{PREFIX}"}
    relation = _s3_integrator(s3, "not-the-secret-key")
    with (
        pytest.raises(ServerStartError) as refused,
        running_server(
            case.charm, options, tmp_path / "unused", tmp_path, REFUSED_TIMEOUT_S, (relation,)
        ),
    ):
        pass
    assert "S3 error [403]: Forbidden" in str(refused.value)
