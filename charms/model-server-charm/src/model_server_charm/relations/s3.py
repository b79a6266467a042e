"""The requirer side of `s3` (`s3-credentials`): object-storage credentials from s3-integrator.

What the provider writes in its application databag (interfaces/s3, v0 and v1),
every value a string: `bucket`; the keys, either in plain text (`access-key`,
`secret-key`, v0) or in a Juju secret whose ID is `secret-extra` (v1); and
optionally `endpoint`, `region`, `path`, `s3-uri-style` (`host` or `path`),
`tls-ca-chain` (a JSON list of CA certificates: s3-integrator sends PEM, the
specification says base64; both are read), `storage-class`, `s3-api-version`
and `attributes` (the last three change nothing in a download and are not read).

What this charm writes (the leader, in its application databag): `bucket`, the
bucket of `model-uri` when it is s3:// (a v0 provider answers only once the
requirer names a bucket; s3-integrator sends its own configured bucket first),
and `requested-secrets` (`["access-key", "secret-key"]`: a v1 provider then
shares the keys in a Juju secret rather than in relation data anyone with
`juju show-unit` reads).

What is read becomes keys of the storage-credentials allow-list
(`credentials.ENVIRONMENT_VARIABLES`), so the server gets the same variables
whichever way the credentials come. A value that is not what the specification
says is ignored with a log line naming the field, never its value.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass

import ops

from model_server_charm import bounded, validation
from model_server_charm.relation_observer import RelationObserver

RELATION_NAME = "s3-credentials"
REQUESTED_SECRETS = ("access-key", "secret-key")
# Access keys are 20 characters on AWS, secret keys 40; other stores use longer ones.
MAX_KEY_BYTES = 1024
MAX_SECRET_ID_BYTES = 256
# A chain of a few certificates is a few KiB.
MAX_CA_CHAIN_BYTES = 64 * 1024
CA_CHAIN_JSON = bounded.JSONLimits(max_bytes=2 * MAX_CA_CHAIN_BYTES, max_depth=2)
REGION = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
# S3's bucket naming rules: 3 to 63 lowercase letters, digits, '.' and '-'.
BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----\s+[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----\s*"
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class S3Connection:
    """What the related s3-integrator gave, as storage-credentials keys."""

    credentials: dict[str, str]
    bucket: str = ""
    # The fields still missing before the server can sign requests ("access-key", ...).
    missing: tuple[str, ...] = ()


def connection_from(data: Mapping[str, str], keys: Mapping[str, str]) -> S3Connection:
    """The usable part of a provider's databag; `keys` holds access-key and secret-key."""
    credentials: dict[str, str] = {}
    missing: list[str] = []
    for field, key in (
        ("access-key", "aws-access-key-id"),
        ("secret-key", "aws-secret-access-key"),
    ):
        value = keys.get(field, "")
        problem = _key_problem(value)
        if problem:
            if value:
                logger.warning("ignoring s3-integrator's %s: %s", field, problem)
            missing.append(field)
        else:
            credentials[key] = value
    endpoint = data.get("endpoint", "")
    if endpoint:
        problem = validation.http_url_problem(endpoint)
        if not problem and validation.has_credentials(endpoint):
            problem = "has credentials in it"
        if problem:
            logger.warning(
                "ignoring s3-integrator's endpoint %s: %s", bounded.quote(endpoint), problem
            )
        else:
            credentials["aws-endpoint-url"] = endpoint
    credentials.update(_optional_settings(data))
    return S3Connection(credentials, _bucket(data.get("bucket", "")), tuple(missing))


def _key_problem(value: str) -> str | None:
    if not value:
        return "empty"
    if len(value.encode()) > MAX_KEY_BYTES:
        return f"longer than {MAX_KEY_BYTES} bytes"
    if validation.has_space_or_control(value):
        return "has whitespace or control characters"
    return None


def _bucket(bucket: str) -> str:
    if bucket and not BUCKET.fullmatch(bucket):
        logger.warning(
            "ignoring s3-integrator's bucket %s: not an S3 bucket name", bounded.quote(bucket)
        )
        return ""
    return bucket


def _optional_settings(data: Mapping[str, str]) -> dict[str, str]:
    """Region, addressing style and CA chain, each only when valid."""
    settings: dict[str, str] = {}
    region = data.get("region", "")
    if region and REGION.fullmatch(region):
        settings["aws-default-region"] = region
    elif region:
        logger.warning(
            "ignoring s3-integrator's region %s: not a region name", bounded.quote(region)
        )
    style = data.get("s3-uri-style", "")
    if style == "host":
        settings["s3-user-virtual-bucket"] = "true"
    elif style not in ("", "path"):
        logger.warning(
            "ignoring s3-integrator's s3-uri-style %s: not host or path", bounded.quote(style)
        )
    chain = data.get("tls-ca-chain", "")
    if chain:
        try:
            settings["aws-ca-bundle"] = ca_bundle(chain)
        except ValueError as error:
            logger.warning("ignoring s3-integrator's tls-ca-chain: %s", error)
    return settings


def ca_bundle(chain: str) -> str:
    """The PEM bundle of a `tls-ca-chain`: a JSON list of PEM (or base64 of PEM) certificates."""
    certificates = bounded.parse_json(chain, CA_CHAIN_JSON, "the CA chain")
    if not isinstance(certificates, list) or not certificates:
        raise ValueError("not a list of certificates")
    pems: list[str] = []
    for certificate in certificates:
        if not isinstance(certificate, str):
            raise ValueError("a certificate that is not a string")
        pem = certificate if "-----BEGIN" in certificate else _decoded(certificate)
        if not PEM_CERTIFICATE.fullmatch(pem.strip() + "\n"):
            raise ValueError("an entry that is not one PEM certificate")
        pems.append(pem.strip())
    return "\n".join(pems) + "\n"


def _decoded(certificate: str) -> str:
    try:
        return base64.b64decode(certificate, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ValueError("an entry that is neither PEM nor base64 of PEM") from error


def model_bucket(model_uri: str) -> str:
    """The bucket of an s3:// model URI (empty for any other URI)."""
    if not model_uri.startswith("s3://"):
        return ""
    return model_uri.removeprefix("s3://").partition("/")[0]


class S3Requirer(RelationObserver):
    """Asks the related s3-integrator for credentials and reads what it gives."""

    event_kinds = ("relation_created", "relation_changed", "relation_broken")

    def __init__(self, charm: ops.CharmBase, relation_name: str = RELATION_NAME):
        super().__init__(charm, relation_name)

    @property
    def declared(self) -> bool:
        """Whether this charm has the relation (the runtimes that download with kserve-storage)."""
        return self._relation_name in self._charm.meta.relations

    @property
    def events(self) -> tuple[ops.BoundEvent, ...]:
        """The relation's events, where the charm declares it."""
        return super().events if self.declared else ()

    @property
    def _relation(self) -> ops.Relation | None:
        return self.model.get_relation(self._relation_name) if self.declared else None

    def publish(self, model_uri: str) -> None:
        """Ask for the keys in a secret and, for an s3:// model, name its bucket (leader only)."""
        relation = self._relation
        if relation is None or not self.model.unit.is_leader():
            return
        request = {"requested-secrets": '["access-key", "secret-key"]'}
        bucket = model_bucket(model_uri)
        if bucket:
            request["bucket"] = bucket
        relation.data[self.model.app].update(request)

    def connection(self) -> S3Connection | None:
        """What the related provider gave (None: not related, or nothing given yet)."""
        relation = self._relation
        if relation is None:
            return None
        data = relation.data[relation.app]
        if not data:
            return None
        keys: Mapping[str, str] = data
        secret_id = data.get("secret-extra", "")
        if secret_id:
            keys = self._secret_keys(secret_id)
        return connection_from(data, keys)

    def _secret_keys(self, secret_id: str) -> dict[str, str]:
        """The keys in the provider's secret (v1); none when it cannot be read."""
        if len(secret_id.encode()) > MAX_SECRET_ID_BYTES or not secret_id.startswith("secret:"):
            logger.warning(
                "ignoring s3-integrator's secret-extra %s: not a secret ID",
                bounded.quote(secret_id),
            )
            return {}
        try:
            return self.model.get_secret(id=secret_id).get_content(refresh=True)
        except (ops.SecretNotFoundError, ops.ModelError) as error:
            logger.warning("cannot read s3-integrator's secret %s: %s", secret_id, error)
            return {}
