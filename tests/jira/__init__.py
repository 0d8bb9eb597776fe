"""Tests of the Jira REST client and the personal-data reporter against the simulator."""
