"""sigforge's Hydra config tree, shipped inside the package as ``sigforge.conf`` (pkg://sigforge.conf)."""
