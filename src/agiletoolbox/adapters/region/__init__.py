"""Transfers between the deployments of two regions: sealed messages and the client."""
