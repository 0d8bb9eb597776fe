"""Agile Toolbox for Jira: planning poker inside Jira Cloud, private by design."""

__version__ = "0.1.0"
