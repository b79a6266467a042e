"""The shared implementation of every kserve-bundle model-server charm."""
