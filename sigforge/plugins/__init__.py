"""The plugin contract (``hookspecs``), the manager that loads plugins (``manager``), and the
built-ins (``builtin/``), registered exactly like a team's plugin."""
