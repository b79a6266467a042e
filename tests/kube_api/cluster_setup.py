"""The cluster a Juju model on Kubernetes gives the charm, made on the real API server.

An admin (the static token, group system:masters) installs KServe's CRDs and
waits until they are Established, makes the model's namespace, the
StatefulSet Juju makes for an application, nodes with devices, and one
ServiceAccount per identity the charm may run as, with a real token each:

- `trusted`: bound to cluster-admin, as `juju trust <app> --scope=cluster` does;
- `namespace-only`: every verb on every resource of the model's namespace and
  nothing else, as a namespace-scoped trust gives;
- `untrusted`: no role at all.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable
from typing import Any, cast

from lightkube import ApiError, Client, KubeConfig
from lightkube.models.authentication_v1 import TokenRequestSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import PolicyRule, RoleRef, Subject
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Namespace, Node, ServiceAccount, ServiceAccountToken
from lightkube.resources.rbac_authorization_v1 import ClusterRoleBinding, Role, RoleBinding
from lightkube.types import PatchType

from model_server_charm.serverless import InferenceService
from model_server_charm.trained_models import TrainedModel
from tests.k8s_schemas import kserve_crds
from tests.kube_api.api_server import ApiServer
from tests.unit.fake_kube import JUJU_MANAGER, juju_statefulset

IDENTITIES = ("trusted", "namespace-only", "untrusted")
ESTABLISHED_TIMEOUT = 60.0
ADMIN_MANAGER = "kube-api-tests"
TOKEN_SECONDS = 3600


class ClusterSetup:
    """The admin's side of the real cluster: what Juju and the operator would have made."""

    def __init__(self, server: ApiServer, namespace: str):
        self.server = server
        self.namespace = namespace
        config = server.kubeconfig("admin", server.admin_token)
        self.admin = Client(config=KubeConfig.from_file(config), field_manager=ADMIN_MANAGER)
        self.kubeconfigs: dict[str, str] = {}

    def prepare(self) -> None:
        """CRDs (Established), the namespace and every identity."""
        self.install_crds()
        self.admin.create(Namespace(metadata=ObjectMeta(name=self.namespace)))
        for identity in IDENTITIES:
            self._identity(identity)

    def install_crds(self) -> None:
        """KServe's CRDs, server-side applied, then waited for until Established."""
        names = []
        for document in kserve_crds():
            crd = cast(CustomResourceDefinition, CustomResourceDefinition.from_dict(document))
            self.admin.apply(crd, field_manager=ADMIN_MANAGER, force=True)
            names.append(document["metadata"]["name"])
        deadline = time.monotonic() + ESTABLISHED_TIMEOUT
        while not all(self._established(name) for name in names):
            if time.monotonic() > deadline:
                raise RuntimeError(f"CRDs not Established after {ESTABLISHED_TIMEOUT:.0f} s")
            time.sleep(0.2)

    def _established(self, name: str) -> bool:
        crd = self.admin.get(CustomResourceDefinition, name)
        conditions = (crd.status.conditions if crd.status else None) or []
        return any(c.type == "Established" and c.status == "True" for c in conditions)

    def _identity(self, name: str) -> None:
        ns = self.namespace
        self.admin.create(ServiceAccount(metadata=ObjectMeta(name=name, namespace=ns)))
        subject = Subject(kind="ServiceAccount", name=name, namespace=ns)
        if name == "trusted":
            self.admin.create(
                ClusterRoleBinding(
                    metadata=ObjectMeta(name=f"{ns}-{name}"),
                    roleRef=RoleRef(
                        apiGroup="rbac.authorization.k8s.io",
                        kind="ClusterRole",
                        name="cluster-admin",
                    ),
                    subjects=[subject],
                )
            )
        elif name == "namespace-only":
            everything = PolicyRule(apiGroups=["*"], resources=["*"], verbs=["*"])
            self.admin.create(
                Role(metadata=ObjectMeta(name=name, namespace=ns), rules=[everything])
            )
            self.admin.create(
                RoleBinding(
                    metadata=ObjectMeta(name=name, namespace=ns),
                    roleRef=RoleRef(apiGroup="rbac.authorization.k8s.io", kind="Role", name=name),
                    subjects=[subject],
                )
            )
        request = ServiceAccountToken(
            metadata=ObjectMeta(name=name, namespace=ns),
            spec=TokenRequestSpec(audiences=[], expirationSeconds=TOKEN_SECONDS),
        )
        created = self.admin.create(request, name, namespace=ns)
        token = created.status.token if created.status else None
        assert token, f"no token for {name}"
        config = self.server.kubeconfig(name, token, ns)
        self.kubeconfigs[name] = str(config)

    # --- what Juju makes, per test ----------------------------------------------------------

    def juju_application(self, app: str) -> dict[str, Any]:
        """The StatefulSet Juju creates for a sidecar charm, as Juju creates it (an Update)."""
        body = copy.deepcopy(juju_statefulset(app, self.namespace))
        for generated in ("managedFields", "uid"):
            del body["metadata"][generated]
        statefulset = cast(StatefulSet, StatefulSet.from_dict(body))
        return self.admin.create(statefulset, field_manager=JUJU_MANAGER).to_dict()

    def node(self, name: str, allocatable: dict[str, str]) -> None:
        """A node whose status offers these resources (no kubelet: the admin writes it)."""
        self.admin.create(Node(metadata=ObjectMeta(name=name)))
        status = {"capacity": allocatable, "allocatable": allocatable}
        self.admin.patch(Node.Status, name, {"status": status}, patch_type=PatchType.MERGE)

    def statefulset(self, app: str) -> dict[str, Any]:
        """The live StatefulSet."""
        return self.admin.get(StatefulSet, app, namespace=self.namespace).to_dict()

    def server_resources(self, app: str) -> dict[str, Any]:
        """The live server container's `resources`."""
        containers = self.statefulset(app)["spec"]["template"]["spec"]["containers"]
        return next(c for c in containers if c["name"] == "server").get("resources", {})

    def objects(self, kind: Any) -> dict[str, dict[str, Any]]:
        """Every InferenceService or TrainedModel in the namespace, by name."""
        found = self.admin.list(kind, namespace=self.namespace)
        return {item.metadata.name: item.to_dict() for item in found if item.metadata}

    def clean(self) -> None:
        """Delete what a test made (no controllers run here: nothing is garbage collected)."""
        for kind in (InferenceService, TrainedModel, StatefulSet):
            self._delete_all(kind, self.admin.list(kind, namespace=self.namespace))
        self._delete_all(Node, self.admin.list(Node))

    def _delete_all(self, kind: Any, items: Iterable[Any]) -> None:
        for item in items:
            try:
                self.admin.delete(kind, item.metadata.name, namespace=item.metadata.namespace)
            except ApiError as error:
                if error.status.code != 404:
                    raise


def writes(requests: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The requests that write (dry runs included: they are sent too)."""
    return [request for request in requests if request[0] in ("PATCH", "POST", "PUT", "DELETE")]
