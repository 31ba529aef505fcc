"""An example team plugin for sigforge (see plugin.py)."""
