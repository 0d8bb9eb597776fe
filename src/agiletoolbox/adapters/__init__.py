"""Adapters: the translations between the core and the world."""
