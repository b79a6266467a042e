"""What a storage-credentials secret may hold: the keys kserve-storage reads, nothing else.

Each key becomes one environment variable of the server through a fixed table,
taken from what kserve-storage (the version the rocks ship) and the client
libraries it calls read while downloading a model. A secret with any other key
is refused as a whole and names it: such a key could not help the download,
and as a variable it could override the charm's own (PROMETHEUS_MULTIPROC_DIR)
or the interpreter's (PYTHONPATH, LD_PRELOAD).
"""

from __future__ import annotations

from model_server_charm import bounded

# Secret key -> environment variable. README.md ("Storage credentials") says
# what each one is for.
ENVIRONMENT_VARIABLES = {
    # s3:// (kserve-storage's S3 client settings; boto3 reads the keys themselves)
    "aws-access-key-id": "AWS_ACCESS_KEY_ID",
    "aws-secret-access-key": "AWS_SECRET_ACCESS_KEY",
    "aws-session-token": "AWS_SESSION_TOKEN",
    "aws-endpoint-url": "AWS_ENDPOINT_URL",
    "aws-default-region": "AWS_DEFAULT_REGION",
    "aws-anonymous-credential": "awsAnonymousCredential",
    "s3-verify-ssl": "S3_VERIFY_SSL",
    "s3-user-virtual-bucket": "S3_USER_VIRTUAL_BUCKET",
    "s3-use-accelerate": "S3_USE_ACCELERATE",
    # https://<account>.blob.core.windows.net/… (azure-identity reads the service principal)
    "azure-client-id": "AZURE_CLIENT_ID",
    "azure-client-secret": "AZURE_CLIENT_SECRET",
    "azure-tenant-id": "AZURE_TENANT_ID",
    "azure-storage-access-key": "AZURE_STORAGE_ACCESS_KEY",
    # hf:// (huggingface_hub reads the token)
    "hf-token": "HF_TOKEN",
    # https://….git
    "git-username": "GIT_USERNAME",
    "git-password": "GIT_PASSWORD",
}
# Keys whose value is a file's content: the file is written where only the server's
# user reads it, and a variable names it.
# gs://: a service-account key (JSON), for Google's libraries.
GCS_CREDENTIALS_KEY = "gcs-credentials-json"
GCS_CREDENTIALS_FILE = "/etc/kserve/credentials/gcs.json"
# s3:// over TLS with a private CA: the CA certificates (PEM), which kserve-storage
# hands to boto3 as its trust store.
S3_CA_BUNDLE_KEY = "aws-ca-bundle"
S3_CA_BUNDLE_FILE = "/etc/kserve/credentials/s3-ca.pem"
# Secret key -> (file, the variable naming it).
CREDENTIAL_FILES = {
    GCS_CREDENTIALS_KEY: (GCS_CREDENTIALS_FILE, "GOOGLE_APPLICATION_CREDENTIALS"),
    S3_CA_BUNDLE_KEY: (S3_CA_BUNDLE_FILE, "AWS_CA_BUNDLE"),
}
# Every file the charm may have written: those the credentials no longer name are removed.
MANAGED_FILES = tuple(path for path, _ in CREDENTIAL_FILES.values())

ACCEPTED_KEYS = (*ENVIRONMENT_VARIABLES, *CREDENTIAL_FILES)
# Secret keys are short; this only keeps a secret with thousands of them readable.
MAX_LISTED_KEYS_BYTES = 1024


class CredentialsError(Exception):
    """The storage-credentials secret cannot be used; the message says what to do."""


def accepted_credentials(secret_content: dict[str, str]) -> dict[str, str]:
    """The secret's content, once every key is one the server reads.

    The message of the error names the keys, never their values.
    """
    unknown = sorted(secret_content.keys() - set(ACCEPTED_KEYS))
    if unknown:
        listed = bounded.shorten(", ".join(unknown), MAX_LISTED_KEYS_BYTES)
        raise CredentialsError(
            f"storage-credentials has keys the server does not read: {listed};"
            f" remove them (accepted keys: {', '.join(ACCEPTED_KEYS)})"
        )
    return secret_content


def credential_environment(secret_content: dict[str, str]) -> dict[str, str]:
    """Turn storage-credential secret keys into the variables the storage libraries read.

    Only the keys of `ENVIRONMENT_VARIABLES` become variables. A key that is a
    file's content (`CREDENTIAL_FILES`: a GCS service-account key, an S3 CA
    bundle) becomes the variable naming the file `credential_files` writes.
    """
    environment = {
        ENVIRONMENT_VARIABLES[key]: value
        for key, value in secret_content.items()
        if key in ENVIRONMENT_VARIABLES
    }
    for key, (path, variable) in CREDENTIAL_FILES.items():
        if key in secret_content:
            environment[variable] = path
    return environment


def credential_files(secret_content: dict[str, str]) -> dict[str, str]:
    """The files the server reads its credentials from: path -> content."""
    return {
        path: secret_content[key]
        for key, (path, _) in CREDENTIAL_FILES.items()
        if key in secret_content
    }
