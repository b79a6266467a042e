# Generated from terraform/templates/charm by scripts/render_terraform.py, from
# charms/paddle-server/charmcraft.yaml. Do not edit by hand: render again.

locals {
  # Every option of the charm, with its Juju type.
  option_types = {
    autoscaling-metric      = "string"
    autoscaling-target      = "int"
    cpu                     = "string"
    deployment-mode         = "string"
    eager-delete-tensor-gb  = "float"
    grpc-port               = "int"
    http-port               = "int"
    image                   = "string"
    latency-alert-threshold = "float"
    log-requests            = "boolean"
    max-replicas            = "int"
    memory                  = "string"
    min-replicas            = "int"
    model-name              = "string"
    model-uri               = "string"
    storage-credentials     = "secret"
    workers                 = "int"
  }
  # What a value of each Juju type looks like once Terraform made it a string.
  type_patterns = {
    int     = "^-?[0-9]+$"
    float   = "^-?[0-9]+([.][0-9]+)?$"
    boolean = "^(true|false)$"
  }
  resource_names = ["server-image"]
}

variable "model_uuid" {
  description = "UUID of the Juju model to deploy into (juju_model.<name>.uuid)."
  type        = string
}

variable "app_name" {
  description = "Name of the application."
  type        = string
  default     = "paddle"
}

variable "channel" {
  description = "Charmhub channel of the charm (the release workflow publishes to latest/edge)."
  type        = string
  default     = "latest/edge"
}

variable "revision" {
  description = "Charm revision; null for the channel's latest."
  type        = number
  nullable    = true
  default     = null
}

variable "base" {
  description = "Base the charm runs on."
  type        = string
  default     = "ubuntu@24.04"
}

variable "config" {
  description = "Charm options (juju config), as strings; unset options keep the charm's defaults."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setsubtract(keys(var.config), keys(local.option_types))) == 0
    error_message = "Not options of paddle-server: ${join(", ", setsubtract(keys(var.config), keys(local.option_types)))}."
  }

  validation {
    condition = alltrue([
      for name, value in var.config :
      can(regex(lookup(local.type_patterns, lookup(local.option_types, name, "string"), ""), value))
    ])
    error_message = "Each int, float and boolean option must be a number or true/false."
  }
}

variable "constraints" {
  description = "Juju constraints of the application."
  type        = string
  default     = "arch=amd64"
}

variable "resources" {
  description = "Resources by name: a Charmhub resource revision, or an OCI image reference. Empty uses the revision released with the charm."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(setsubtract(keys(var.resources), local.resource_names)) == 0
    error_message = "paddle-server has only these resources: ${join(", ", local.resource_names)}."
  }
}

variable "trust" {
  description = "Trust the application (juju trust): it sets its container's limits and creates KServe objects through the Kubernetes API."
  type        = bool
  default     = true
}

variable "units" {
  description = "Number of units."
  type        = number
  default     = 1
}
