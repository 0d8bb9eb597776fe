"""Tests of the Jira Cloud simulator, partly against the app's own Connect verifiers."""
