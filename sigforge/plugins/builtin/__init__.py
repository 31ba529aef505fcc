"""Built-in plugins. Each module here is registered exactly like a team's plugin module."""
