"""Which storage credentials the server gets: the `storage-credentials` secret's or the relation's.

Precedence: the secret the operator set on this application wins, whole; the
`s3-credentials` relation's credentials are used when no secret is set. The two
are never merged key by key: a server downloading with half of each would be
hard to reason about. Whichever is unused is named in the unit's status, with
what to do to use it. Both sources go through the same allow-list
(`credentials.accepted_credentials`), so the server gets the same variables
from either.
"""

from __future__ import annotations

from dataclasses import dataclass

import ops

from model_server_charm.credentials import CredentialsError, accepted_credentials
from model_server_charm.relations.s3 import RELATION_NAME, S3Connection


@dataclass(frozen=True)
class StorageCredentials:
    """The credentials the server gets, and why a source that is there is not used."""

    content: dict[str, str]
    # A short note for the status ("" when every source present is used).
    note: str = ""


def read_secret(secret: ops.Secret | None, app: str) -> dict[str, str] | None:
    """The storage-credentials secret's accepted content (None: no secret is set).

    Raises CredentialsError saying what to do when it cannot be used.
    """
    if secret is None:
        return None
    try:
        return accepted_credentials(secret.get_content(refresh=True))
    except ops.SecretNotFoundError as error:
        raise CredentialsError(
            f"storage-credentials secret {secret.id} not found: create it with"
            " `juju add-secret` and set its ID again"
        ) from error
    except ops.ModelError as error:
        raise CredentialsError(
            f"cannot read storage-credentials secret {secret.id}: run"
            f" `juju grant-secret {secret.id} {app}`"
        ) from error


def choose(
    secret: dict[str, str] | None, relation: S3Connection | None, serverless: bool
) -> StorageCredentials:
    """The credentials the server gets, by the precedence the module describes."""
    if secret is not None:
        note = ""
        if relation is not None:
            note = (
                f"{RELATION_NAME} relation unused: the storage-credentials secret takes"
                " precedence (reset it to use the relation)"
            )
        return StorageCredentials(secret, note)
    if relation is None:
        return StorageCredentials({})
    if serverless:
        return StorageCredentials(
            {}, f"{RELATION_NAME} relation unused in serverless mode: use a public model there"
        )
    if relation.missing:
        return StorageCredentials(
            {}, f"{RELATION_NAME}: waiting for s3-integrator's {', '.join(relation.missing)}"
        )
    return StorageCredentials(accepted_credentials(relation.credentials))
