"""Serverless mode of a multi-model server: one TrainedModel per model (proteus).

KServe's model agent, in the predictor's pod, downloads each TrainedModel's
`storageUri` into the model repository under the TrainedModel's name
(/mnt/models/<name>/) and calls the server's repository load API: the name is
the repository directory, as the server expects it. The charm applies one
TrainedModel per model of its `models` option, labelled as its own, and
deletes those of its own that are no longer listed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml
from lightkube import Client
from lightkube.generic_resource import create_namespaced_resource

from model_server_charm.k8s_resources import FIELD_MANAGER, Owner
from model_server_charm.serverless import TEMPLATES, inference_service_name, labels

TrainedModel = create_namespaced_resource(
    "serving.kserve.io", "v1alpha1", "TrainedModel", "trainedmodels"
)
CREATED_BY = "app.juju.is/created-by"


def render_trained_model(
    model: Mapping[str, str], *, app: str, namespace: str, owner: Owner | None = None
) -> dict[str, Any]:
    """A TrainedModel: one more model (name, uri, framework, memory) for the InferenceService.

    `memory` is the model's size as a Kubernetes quantity; KServe uses it to
    place models on predictor replicas with room for them.
    """
    text = TEMPLATES.get_template("trainedmodel.yaml.j2").render(
        name=model["name"],
        namespace=namespace,
        labels=labels(app),
        owner=owner,
        inference_service=inference_service_name(app),
        framework=model["framework"],
        storage_uri=model["uri"],
        memory=model["memory"],
    )
    return yaml.safe_load(text)


class TrainedModels:
    """The application's TrainedModels in the cluster."""

    def __init__(self, client: Client, app: str, namespace: str):
        self.client = client
        self.app = app
        self.namespace = namespace

    def names(self) -> set[str]:
        """The TrainedModels the charm created for this application."""
        found = self.client.list(
            TrainedModel, namespace=self.namespace, labels={CREATED_BY: self.app}
        )
        return {str(item.metadata.name) for item in found if item.metadata}

    def apply(self, obj: dict[str, Any], *, dry_run: bool = False) -> None:
        """Server-side apply one rendered TrainedModel."""
        self.client.apply(
            TrainedModel.from_dict(obj), field_manager=FIELD_MANAGER, force=True, dry_run=dry_run
        )

    def delete(self, name: str, *, dry_run: bool = False) -> None:
        """Delete one TrainedModel."""
        self.client.delete(TrainedModel, name, namespace=self.namespace, dry_run=dry_run)

    def delete_all(self) -> None:
        """Delete every TrainedModel of the application (its InferenceService is going)."""
        for name in sorted(self.names()):
            self.delete(name)
