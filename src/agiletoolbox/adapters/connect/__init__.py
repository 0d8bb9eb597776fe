"""Atlassian Connect: the descriptor, lifecycle and request JWTs, and the query-string hash.

Framework-free: the HTTP routes describe a request as a `ConnectRequest` and call the
verifiers here; nothing in this package knows aiohttp's server side.
"""
