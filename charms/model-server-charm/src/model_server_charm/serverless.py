"""Serverless mode: the KServe objects the charm renders, applies, reads and deletes.

In `deployment-mode=serverless` the model server does not run in the charm's
pod: KServe runs the same rock as an InferenceService's custom predictor and
Knative scales it. The objects come from jinja2 templates in `templates/`, so
what is sent is readable as YAML and validated against the KServe CRDs in tests.

Decisions:

- The InferenceService is named `<app>-isvc`, not `<app>`: KServe creates a
  Service named after the InferenceService (an ExternalName to the Knative
  gateway) and would take over the Service Juju created for the application.
- The predictor runs what the server family says (`ServerFamily.predictor`):
  the charm's own command line, on port 8080 (KServe's model agent and routing
  assume it), with models where KServe's storage initializer or model agent
  puts them (/mnt/models).
- The InferenceService is owned (ownerReferences) by the application's
  StatefulSet, so Kubernetes deletes it with the application even if the
  charm's removal hooks never run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import ops
import yaml
from lightkube import ApiError, Client
from lightkube.generic_resource import create_namespaced_resource
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition

from model_server_charm import bounded, validation
from model_server_charm.bounded import quote
from model_server_charm.config import CharmConfig
from model_server_charm.k8s_resources import (
    FIELD_MANAGER,
    Owner,
    ResourceRequirements,
    is_not_found,
)

InferenceService = create_namespaced_resource(
    "serving.kserve.io", "v1beta1", "InferenceService", "inferenceservices"
)
INFERENCE_SERVICE_CRD = "inferenceservices.serving.kserve.io"

# KServe routes to, and its model agent calls, the predictor on this port.
KSERVE_HTTP_PORT = 8080
# Where KServe's storage initializer puts what STORAGE_URI names.
STORAGE_MOUNT = "/mnt/models"
NAME_SUFFIX = "-isvc"
# The OCI image resource every model-server charm declares for its server container.
IMAGE_RESOURCE = "server-image"


@dataclass(frozen=True)
class Predictor:
    """What KServe's predictor container runs, and the models KServe loads into it.

    `trained_models` (name, uri, framework, memory each) are those of a
    multi-model server, one TrainedModel each; None for a server that loads its
    one model itself.
    """

    command: Sequence[str]
    environment: dict[str, str]
    trained_models: list[dict[str, str]] | None = None


TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("model_server_charm", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
)


def inference_service_name(app: str) -> str:
    """The InferenceService's name (see the module docstring for why not the app's)."""
    return app + NAME_SUFFIX


def name_problems(app: str) -> list[str]:
    """Why the API server would refuse this application's InferenceService name or labels."""
    problems: list[str] = []
    name = inference_service_name(app)
    if problem := validation.object_name_problem(name):
        problems.append(f"InferenceService name {quote(name)}: {problem}")
    for key, value in labels(app).items():
        if problem := validation.label_value_problem(value):
            problems.append(f"label {key}={quote(value)}: {problem}")
    return problems


def labels(app: str) -> dict[str, str]:
    """Labels that say which application made an object.

    Deliberately not `app.kubernetes.io/name`: Juju selects the application's
    pods (and its Service's endpoints) by that label, and KServe copies an
    InferenceService's labels onto its predictor pods.
    """
    return {"app.juju.is/created-by": app, "app.kubernetes.io/part-of": "kserve-bundle"}


def render_inference_service(
    predictor: Predictor,
    config: CharmConfig,
    *,
    app: str,
    namespace: str,
    image: str,
    resources: ResourceRequirements,
    owner: Owner | None = None,
    image_pull_secrets: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The InferenceService whose predictor runs `predictor`, as a plain object."""
    text = TEMPLATES.get_template("inferenceservice.yaml.j2").render(
        name=inference_service_name(app),
        namespace=namespace,
        labels=labels(app),
        owner=owner,
        image=image,
        command=list(predictor.command),
        env=predictor.environment,
        http_port=KSERVE_HTTP_PORT,
        resources=resources.to_dict(),
        min_replicas=config.server.min_replicas,
        max_replicas=config.server.max_replicas,
        scale_metric=config.server.autoscaling_metric,
        scale_target=config.server.autoscaling_target,
        image_pull_secrets=image_pull_secrets,
    )
    return yaml.safe_load(text)


# The resource file is three short values.
IMAGE_RESOURCE_LIMITS = bounded.JSONLimits(max_bytes=64 * 1024, max_depth=4)


class ImageResourceError(Exception):
    """The OCI image resource cannot be read; the message says what to do."""


def predictor_image(image_option: str, resources: ops.Resources) -> str:
    """The rock the predictor runs: the `image` option, else the charm's OCI resource."""
    if image_option:
        return image_option
    try:
        path = resources.fetch(IMAGE_RESOURCE)
    except (ops.ModelError, NameError) as error:
        raise ImageResourceError(
            f"no {IMAGE_RESOURCE} resource to run in serverless mode:"
            " attach it (juju attach-resource) or set the image option"
        ) from error
    return image_from_resource(path)


def image_from_resource(path: Path) -> str:
    """The image reference in an `oci-image` resource file.

    Juju hands a charm its OCI image resource as a small YAML (or JSON) document
    with `registrypath`, `username` and `password`; only the path is needed,
    because the predictor reuses the pull secrets Juju made for the pod.

    The file is untrusted input: at most one byte over the limit is read, it is
    parsed within bounds, and a fault never quotes its lines (the password is
    among them).
    """
    try:
        with path.open("rb") as file:
            text = file.read(IMAGE_RESOURCE_LIMITS.max_bytes + 1).decode()
    except (OSError, UnicodeDecodeError) as error:
        raise ImageResourceError(f"cannot read the server-image resource: {error}") from error
    try:
        document = bounded.parse_yaml(text, IMAGE_RESOURCE_LIMITS, "the server-image resource")
    except bounded.JSONInputError as error:
        raise ImageResourceError(str(error)) from error
    image = document.get("registrypath") if isinstance(document, dict) else None
    if not isinstance(image, str) or not image:
        raise ImageResourceError("the server-image resource names no registrypath")
    if not validation.is_image_reference(image):
        raise ImageResourceError(
            f"the server-image resource's registrypath {quote(image)} is not an OCI image"
            " reference"
        )
    return image


@dataclass(frozen=True)
class InferenceServiceState:
    """What KServe reports about an InferenceService: its Ready condition and URL."""

    ready: bool
    reason: str
    message: str
    url: str
    # The cluster-local address: what the charm's actions call from inside the cluster.
    address: str

    @classmethod
    def from_object(cls, obj: dict[str, Any]) -> InferenceServiceState:
        """Read the Ready condition and URL from a live InferenceService."""
        status: dict[str, Any] = obj.get("status") or {}
        ready: dict[str, Any] = next(
            (c for c in status.get("conditions") or [] if c.get("type") == "Ready"), {}
        )
        address = str((status.get("address") or {}).get("url") or "")
        url = str(status.get("url") or address)
        return cls(
            ready=ready.get("status") == "True",
            reason=str(ready.get("reason") or ""),
            message=str(ready.get("message") or ""),
            url=url,
            address=address or url,
        )


class InferenceServices:
    """The application's InferenceService in the cluster."""

    _absent: Any = object()

    def __init__(self, client: Client, app: str, namespace: str):
        self.client = client
        self.name = inference_service_name(app)
        self.namespace = namespace
        self._live: Any = None

    def kserve_installed(self) -> bool:
        """Whether the cluster knows InferenceServices at all (KServe's CRD)."""
        try:
            self.client.get(CustomResourceDefinition, INFERENCE_SERVICE_CRD)
        except ApiError as error:
            if is_not_found(error):
                return False
            raise
        return True

    def get(self) -> dict[str, Any] | None:
        """The live InferenceService, or None; read once per hook."""
        if self._live is None:
            try:
                self._live = dict(
                    self.client.get(InferenceService, self.name, namespace=self.namespace)
                )
            except ApiError as error:
                if not is_not_found(error):
                    raise
                self._live = self._absent
        return None if self._live is self._absent else self._live

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False) -> None:
        """Server-side apply the rendered InferenceService."""
        self.client.apply(
            InferenceService.from_dict(obj),
            field_manager=FIELD_MANAGER,
            force=True,
            dry_run=dry_run,
        )
        if not dry_run:
            self._live = None

    def delete(self, *, dry_run: bool = False) -> None:
        """Delete the InferenceService (gone already is fine)."""
        try:
            self.client.delete(
                InferenceService, self.name, namespace=self.namespace, dry_run=dry_run
            )
        except ApiError as error:
            if not is_not_found(error):
                raise
        if not dry_run:
            self._live = self._absent
