"""The web interface: one blueprint per module, and ``current``: the link a request is about."""
