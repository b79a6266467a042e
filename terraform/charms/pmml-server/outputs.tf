# Generated from terraform/templates/charm by scripts/render_terraform.py, from
# charms/pmml-server/charmcraft.yaml. Do not edit by hand: render again.

output "app_name" {
  description = "Name of the deployed application."
  value       = juju_application.model_server.name
}

output "provides" {
  description = "The charm's provided endpoints, by name (juju_integration endpoint values)."
  value = {
    grafana_dashboard = "grafana-dashboard"
    metrics_endpoint  = "metrics-endpoint"
  }
}

output "requires" {
  description = "The charm's required endpoints, by name (juju_integration endpoint values)."
  value = {
    ingress        = "ingress"
    logging        = "logging"
    s3_credentials = "s3-credentials"
    send_otlp      = "send-otlp"
  }
}
