"""Models built on this machine, one builder per runtime, each writing what its server loads.

Nothing comes from a model hub: every model is trained here on the iris data
that scikit-learn ships, or (Hugging Face) initialised at random and trained
on the example sentences. Builders of the heavy frameworks live in their own
modules so that importing this package needs none of them.
"""
