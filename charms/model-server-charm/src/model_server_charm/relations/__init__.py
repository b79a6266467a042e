"""The relations a platform engineer plugs in first, besides observability.

One module per relation, each a small `ops.Object` that names the relation
events it needs and reads or writes the relation when the charm's single
reconcile calls it; nothing here sets a status (the charm's
`collect_unit_status` asks each for its part):

- `ingress`: `ingress` (ingress v2) — a route per application from traefik-k8s;
- `s3`: `s3-credentials` (s3) — object-storage credentials from s3-integrator;
- `storage_credentials`: which credentials the server gets, the
  `storage-credentials` secret's or the relation's, and why the other is unused.

The provider libraries of these interfaces are Charmhub libraries
(traefik_k8s.v2.ingress, data_platform_libs.v0.s3): the requirer sides here are
written from the interfaces' published specifications
(canonical/charm-relation-interfaces, interfaces/ingress/v2 and interfaces/s3),
with what the providers really send read from their charms. Remote relation data
is untrusted: a value that is not what the specification says is ignored with a
log line, never a crash (`bounded`, `validation`).
"""
