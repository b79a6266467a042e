"""Models of the heavy frameworks built on this machine, each writing what its server loads.

Nothing comes from a model hub: the paddle and AutoGluon models are trained
here on the iris data that scikit-learn ships, the Hugging Face ones
initialised at random and trained on the example sentences. Each builder lives
in its own module so that importing this package needs none of them. The light
frameworks' builders (scikit-learn, XGBoost, LightGBM, PMML) are the
benchmark's, in `bench.models`.
"""
