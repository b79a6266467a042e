"""A real kube-apiserver v1.37.2 with etcd on loopback, for the charm's Kubernetes writes.

`scripts/install_kube_apiserver.sh` builds the API server (`tox -e kube-api`
runs it); etcd is Debian's `etcd-server`. They run as a cluster without nodes
or controllers: what the tests need is the API's own behaviour — validation,
defaulting, server-side apply, RBAC, CRDs — not pods. The serving certificate
is the one the API server makes for itself; identities are a static admin
token (group system:masters, to set the cluster up) and one real
ServiceAccount token per identity the charm may run as (`identity_kubeconfig`).
Every wait is bounded.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ROOT = Path(__file__).resolve().parents[2]
KUBE_VERSION = "v1.37.2"
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0
# A service range outside anything on loopback (the API server needs one).
SERVICE_CIDR = "10.152.183.0/24"
# The largest object the charm's tests store is KServe's InferenceService CRD (0.7 MB of JSON).
ETCD_MAX_REQUEST_BYTES = 8 * 1024 * 1024


def kube_apiserver_binary() -> Path:
    """Where the API server is: $KUBE_APISERVER_BIN, else build/bin/kube-apiserver."""
    return Path(os.environ.get("KUBE_APISERVER_BIN") or ROOT / "build" / "bin" / "kube-apiserver")


def missing() -> str:
    """Why the real API server cannot run here ('' when it can)."""
    binary = kube_apiserver_binary()
    if not os.access(binary, os.X_OK):
        return (
            f"no kube-apiserver at {binary} ($KUBE_APISERVER_BIN, else build/bin):"
            " scripts/install_kube_apiserver.sh builds it, and `tox -e kube-api` runs that script"
        )
    if shutil.which("etcd") is None:
        return "no etcd on PATH: install Debian's etcd-server (apt-get install etcd-server)"
    return ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait(
    what: str, ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{what} exited with {process.returncode}: {log.read_text()[-3000:]}"
            )
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"{what} not ready after {START_TIMEOUT:.0f} s: {log.read_text()[-3000:]}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)


@dataclass(frozen=True)
class ApiServer:
    """A running API server: where it is, how to trust it, and its admin token."""

    url: str
    ca: Path
    directory: Path
    admin_token: str

    def kubeconfig(self, name: str, token: str, namespace: str = "default") -> Path:
        """A kubeconfig file for this server, authenticating with `token`."""
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "local",
                    "cluster": {"server": self.url, "certificate-authority": str(self.ca)},
                }
            ],
            "users": [{"name": name, "user": {"token": token}}],
            "contexts": [
                {
                    "name": name,
                    "context": {"cluster": "local", "user": name, "namespace": namespace},
                }
            ],
            "current-context": name,
        }
        path = self.directory / f"{name}.kubeconfig"
        path.write_text(yaml.safe_dump(config))
        return path


def _signing_key(path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )


@contextmanager
def running(directory: Path) -> Generator[ApiServer]:
    """Etcd and kube-apiserver on loopback ports, stopped (both) on the way out."""
    etcd_port, peer_port, api_port = _free_port(), _free_port(), _free_port()
    etcd_url = f"http://127.0.0.1:{etcd_port}"
    etcd_log = directory / "etcd.log"
    with etcd_log.open("wb") as log:
        etcd = subprocess.Popen(
            [
                str(shutil.which("etcd")),
                f"--data-dir={directory / 'etcd'}",
                f"--listen-client-urls={etcd_url}",
                f"--advertise-client-urls={etcd_url}",
                f"--listen-peer-urls=http://127.0.0.1:{peer_port}",
                f"--max-request-bytes={ETCD_MAX_REQUEST_BYTES}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait(
            "etcd", lambda: httpx.get(f"{etcd_url}/health", timeout=2).is_success, etcd, etcd_log
        )
        with _apiserver(directory, etcd_url, api_port) as server:
            yield server
    finally:
        _stop(etcd)


@contextmanager
def _apiserver(directory: Path, etcd_url: str, port: int) -> Generator[ApiServer]:
    admin_token = secrets.token_hex(16)
    tokens = directory / "tokens.csv"
    tokens.write_text(f'{admin_token},admin,admin-uid,"system:masters"\n')
    signing_key = directory / "service-account.key"
    _signing_key(signing_key)
    certs = directory / "certs"
    log_path = directory / "kube-apiserver.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(kube_apiserver_binary()),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={port}",
                f"--cert-dir={certs}",
                # The default reconciler writes the advertise address into the kubernetes
                # Service's endpoints, and the API refuses loopback addresses there.
                "--endpoint-reconciler-type=none",
                "--authorization-mode=RBAC",
                f"--token-auth-file={tokens}",
                "--service-account-issuer=https://kubernetes.default.svc",
                f"--service-account-key-file={signing_key}",
                f"--service-account-signing-key-file={signing_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        server = ApiServer(
            url=f"https://127.0.0.1:{port}",
            ca=certs / "apiserver.crt",
            directory=directory,
            admin_token=admin_token,
        )

        def ready() -> bool:
            if not server.ca.exists():
                return False
            answer = httpx.get(
                f"{server.url}/readyz",
                verify=ssl.create_default_context(cafile=server.ca),
                headers={"Authorization": f"Bearer {admin_token}"},
                timeout=5,
            )
            return answer.is_success

        _wait("kube-apiserver", ready, process, log_path)
        yield server
    finally:
        _stop(process)
