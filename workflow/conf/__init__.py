"""The Hydra config tree, shipped inside the package: ``pkg://workflow.conf``."""
