"""Tests of the Atlassian Connect adapter: qsh, JWT verification, installs, descriptor."""
