"""Models built on this machine, one builder per framework, each writing what its server loads.

Nothing comes from a model hub: every model is trained here on the iris data
that scikit-learn ships. Each module imports only its own frameworks, so that
the scikit-learn model needs scikit-learn only.
"""
