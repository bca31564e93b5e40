"""The web interface: one blueprint per module."""
