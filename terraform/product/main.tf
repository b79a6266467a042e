# Generated from terraform/templates/product by scripts/render_terraform.py, from
# bundle.yaml: the same applications, options and relations. Do not edit by hand.

locals {
  # The options bundle.yaml sets, per application.
  options = {
    sklearn = {
      model-uri = "gs://kfserving-examples/models/sklearn/1.0/model"
    }
    xgboost = {
      model-uri = "gs://kfserving-examples/models/xgboost/1.5/model"
    }
    lightgbm = {
      model-uri = "gs://kfserving-examples/models/lightgbm/iris"
    }
    pmml = {
      model-uri = "gs://kfserving-examples/models/pmml"
    }
    paddle = {
      model-uri = "gs://kfserving-examples/models/paddle/resnet50"
    }
    huggingface = {
      model-uri = "hf://distilbert/distilbert-base-uncased-finetuned-sst-2-english"
    }
    predictive = {
      model-uri = "gs://kfserving-examples/models/sklearn/1.0/model"
    }
    autogluon = {}
    proteus   = {}
  }
}

module "sklearn" {
  source     = "../charms/sklearn-server"
  model_uuid = var.model_uuid
  app_name   = "sklearn"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.sklearn, lookup(var.config, "sklearn", {}))
  resources  = lookup(var.resources, "sklearn", {})
}

module "xgboost" {
  source     = "../charms/xgboost-server"
  model_uuid = var.model_uuid
  app_name   = "xgboost"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.xgboost, lookup(var.config, "xgboost", {}))
  resources  = lookup(var.resources, "xgboost", {})
}

module "lightgbm" {
  source     = "../charms/lightgbm-server"
  model_uuid = var.model_uuid
  app_name   = "lightgbm"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.lightgbm, lookup(var.config, "lightgbm", {}))
  resources  = lookup(var.resources, "lightgbm", {})
}

module "pmml" {
  source     = "../charms/pmml-server"
  model_uuid = var.model_uuid
  app_name   = "pmml"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.pmml, lookup(var.config, "pmml", {}))
  resources  = lookup(var.resources, "pmml", {})
}

module "paddle" {
  source     = "../charms/paddle-server"
  model_uuid = var.model_uuid
  app_name   = "paddle"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.paddle, lookup(var.config, "paddle", {}))
  resources  = lookup(var.resources, "paddle", {})
}

module "huggingface" {
  source     = "../charms/huggingface-server"
  model_uuid = var.model_uuid
  app_name   = "huggingface"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.huggingface, lookup(var.config, "huggingface", {}))
  resources  = lookup(var.resources, "huggingface", {})
}

module "predictive" {
  source     = "../charms/predictive-server"
  model_uuid = var.model_uuid
  app_name   = "predictive"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.predictive, lookup(var.config, "predictive", {}))
  resources  = lookup(var.resources, "predictive", {})
}

module "autogluon" {
  source     = "../charms/autogluon-server"
  model_uuid = var.model_uuid
  app_name   = "autogluon"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.autogluon, lookup(var.config, "autogluon", {}))
  resources  = lookup(var.resources, "autogluon", {})
}

module "proteus" {
  source     = "../charms/proteus-server"
  model_uuid = var.model_uuid
  app_name   = "proteus"
  channel    = var.channel
  units      = 1
  trust      = true
  config     = merge(local.options.proteus, lookup(var.config, "proteus", {}))
  resources  = lookup(var.resources, "proteus", {})
}

# prometheus-k8s: its own Terraform module, which trusts the application.
module "prometheus" {
  source     = "git::https://github.com/canonical/prometheus-k8s-operator//terraform?ref=track/2"
  model_uuid = var.model_uuid
  app_name   = "prometheus"
  channel    = var.cos_channel
  units      = 1
}

# grafana-k8s: its own Terraform module, which trusts the application.
module "grafana" {
  source     = "git::https://github.com/canonical/grafana-k8s-operator//terraform?ref=track/2"
  model_uuid = var.model_uuid
  app_name   = "grafana"
  channel    = var.cos_channel
  units      = 1
}

resource "juju_integration" "sklearn_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.sklearn.app_name
    endpoint = module.sklearn.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "sklearn_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.sklearn.app_name
    endpoint = module.sklearn.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "xgboost_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.xgboost.app_name
    endpoint = module.xgboost.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "xgboost_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.xgboost.app_name
    endpoint = module.xgboost.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "lightgbm_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.lightgbm.app_name
    endpoint = module.lightgbm.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "lightgbm_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.lightgbm.app_name
    endpoint = module.lightgbm.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "pmml_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.pmml.app_name
    endpoint = module.pmml.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "pmml_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.pmml.app_name
    endpoint = module.pmml.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "paddle_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.paddle.app_name
    endpoint = module.paddle.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "paddle_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.paddle.app_name
    endpoint = module.paddle.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "huggingface_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.huggingface.app_name
    endpoint = module.huggingface.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "huggingface_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.huggingface.app_name
    endpoint = module.huggingface.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "predictive_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.predictive.app_name
    endpoint = module.predictive.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "predictive_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.predictive.app_name
    endpoint = module.predictive.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "autogluon_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.autogluon.app_name
    endpoint = module.autogluon.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "autogluon_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.autogluon.app_name
    endpoint = module.autogluon.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "proteus_metrics_endpoint" {
  model_uuid = var.model_uuid

  application {
    name     = module.proteus.app_name
    endpoint = module.proteus.provides.metrics_endpoint
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "metrics-endpoint"
  }
}

resource "juju_integration" "proteus_grafana_dashboard" {
  model_uuid = var.model_uuid

  application {
    name     = module.proteus.app_name
    endpoint = module.proteus.provides.grafana_dashboard
  }

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-dashboard"
  }
}

resource "juju_integration" "grafana_grafana_source" {
  model_uuid = var.model_uuid

  application {
    name     = module.grafana.app_name
    endpoint = "grafana-source"
  }

  application {
    name     = module.prometheus.app_name
    endpoint = "grafana-source"
  }
}

# traefik-k8s (overlays/ingress.yaml) when ingress is true: its own module.
module "traefik" {
  count      = var.ingress ? 1 : 0
  source     = "git::https://github.com/canonical/traefik-k8s-operator//terraform?ref=rev298"
  model_uuid = var.model_uuid
  app_name   = "traefik"
  channel    = "latest/stable"
  units      = 1
  config     = lookup(var.config, "traefik", {})
}

resource "juju_integration" "sklearn_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.sklearn.app_name
    endpoint = module.sklearn.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "xgboost_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.xgboost.app_name
    endpoint = module.xgboost.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "lightgbm_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.lightgbm.app_name
    endpoint = module.lightgbm.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "pmml_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.pmml.app_name
    endpoint = module.pmml.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "paddle_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.paddle.app_name
    endpoint = module.paddle.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "huggingface_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.huggingface.app_name
    endpoint = module.huggingface.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "predictive_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.predictive.app_name
    endpoint = module.predictive.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "autogluon_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.autogluon.app_name
    endpoint = module.autogluon.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

resource "juju_integration" "proteus_ingress" {
  count      = var.ingress ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.proteus.app_name
    endpoint = module.proteus.requires.ingress
  }

  application {
    name     = module.traefik[0].app_name
    endpoint = "ingress"
  }
}

# s3-integrator (overlays/s3.yaml) when s3_integrator is true: it publishes no module.
resource "juju_application" "s3_integrator" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid
  name       = "s3-integrator"
  units      = 1
  trust      = false
  config     = lookup(var.config, "s3-integrator", {})

  charm {
    name    = "s3-integrator"
    channel = "1/stable"
  }
}

resource "juju_integration" "sklearn_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.sklearn.app_name
    endpoint = module.sklearn.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "xgboost_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.xgboost.app_name
    endpoint = module.xgboost.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "lightgbm_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.lightgbm.app_name
    endpoint = module.lightgbm.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "pmml_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.pmml.app_name
    endpoint = module.pmml.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "paddle_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.paddle.app_name
    endpoint = module.paddle.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "huggingface_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.huggingface.app_name
    endpoint = module.huggingface.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "predictive_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.predictive.app_name
    endpoint = module.predictive.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

resource "juju_integration" "autogluon_s3_credentials" {
  count      = var.s3_integrator ? 1 : 0
  model_uuid = var.model_uuid

  application {
    name     = module.autogluon.app_name
    endpoint = module.autogluon.requires.s3_credentials
  }

  application {
    name     = juju_application.s3_integrator[0].name
    endpoint = "s3-credentials"
  }
}

