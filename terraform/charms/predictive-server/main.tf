# Generated from terraform/templates/charm by scripts/render_terraform.py, from
# charms/predictive-server/charmcraft.yaml. Do not edit by hand: render again.

resource "juju_application" "model_server" {
  name        = var.app_name
  model_uuid  = var.model_uuid
  config      = var.config
  constraints = var.constraints
  resources   = var.resources
  trust       = var.trust
  units       = var.units

  charm {
    name     = "predictive-server"
    channel  = var.channel
    revision = var.revision
    base     = var.base
  }
}
