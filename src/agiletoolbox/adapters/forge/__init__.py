"""Forge Remote: invocation tokens, lifecycle and scheduled events, the system token,
the manifest."""
