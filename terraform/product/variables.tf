# Generated from terraform/templates/product by scripts/render_terraform.py, from
# bundle.yaml. Do not edit by hand.

variable "model_uuid" {
  description = "UUID of the Juju model to deploy into (juju_model.<name>.uuid)."
  type        = string
}

variable "channel" {
  description = "Charmhub channel of the model-server charms."
  type        = string
  default     = "latest/edge"
}

variable "cos_channel" {
  description = "Charmhub channel of prometheus-k8s and grafana-k8s."
  type        = string
  default     = "2/stable"
}

variable "config" {
  description = "Options by application, over the ones bundle.yaml sets: { sklearn = { workers = \"4\" } }."
  type        = map(map(string))
  default     = {}
}

variable "resources" {
  description = "Resources by application: { sklearn = { server-image = \"<registry>/sklearnserver:<tag>\" } }."
  type        = map(map(string))
  default     = {}
}

variable "ingress" {
  description = "Deploy traefik-k8s and relate every model server's ingress to it (overlays/ingress.yaml)."
  type        = bool
  default     = false
}

variable "s3_integrator" {
  description = "Deploy s3-integrator and relate every KServe model server to it (overlays/s3.yaml); configure it with config = { s3-integrator = { endpoint = ..., bucket = ... } }."
  type        = bool
  default     = false
}
