# Generated from terraform/templates/product by scripts/render_terraform.py, from
# bundle.yaml. Do not edit by hand.

output "app_names" {
  description = "Every application's name, by its name in bundle.yaml."
  value = {
    sklearn     = module.sklearn.app_name
    xgboost     = module.xgboost.app_name
    lightgbm    = module.lightgbm.app_name
    pmml        = module.pmml.app_name
    paddle      = module.paddle.app_name
    huggingface = module.huggingface.app_name
    predictive  = module.predictive.app_name
    autogluon   = module.autogluon.app_name
    proteus     = module.proteus.app_name
    prometheus  = module.prometheus.app_name
    grafana     = module.grafana.app_name
  }
}
