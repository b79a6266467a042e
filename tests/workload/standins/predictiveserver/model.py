"""The model class of each framework predictiveserver serves."""

from __future__ import annotations

import kserve
from lgbserver.model import LightGBMModel
from sklearnserver.model import SKLearnModel
from xgbserver.model import XGBoostModel

SKLEARN = "sklearn"
XGBOOST = "xgboost"
LIGHTGBM = "lightgbm"
FRAMEWORKS = (SKLEARN, XGBOOST, LIGHTGBM)
DEFAULT_FRAMEWORK = SKLEARN


def framework_model(framework: str, name: str, model_dir: str, nthread: int) -> kserve.Model:
    """Build the (not yet loaded) model of `framework`, with that framework's own loading rules.

    Raises ValueError for a framework predictiveserver does not serve.
    """
    if framework == SKLEARN:
        return SKLearnModel(name, model_dir)
    if framework == XGBOOST:
        return XGBoostModel(name, model_dir, nthread)
    if framework == LIGHTGBM:
        return LightGBMModel(name, model_dir, nthread)
    raise ValueError(f"unsupported framework {framework!r}: choose one of {', '.join(FRAMEWORKS)}")
