# Generated from terraform/templates/versions.tf.j2 by scripts/render_terraform.py. Do not edit by hand.

terraform {
  # Input validations refer to locals (Terraform 1.9 and later).
  required_version = ">= 1.9"
  required_providers {
    juju = {
      source = "juju/juju"
      # model_uuid and the charm block as provider 1.x has them.
      version = "~> 1.0"
    }
  }
}
