"""Multiruns: Hydra callbacks for the sweep's parent run and comparison, the contract guard, Slurm."""
