"""The Hydra config tree: ``conf/`` in a checkout, shipped inside the wheel as ``workflow.conf`` (``pkg://workflow.conf``)."""
