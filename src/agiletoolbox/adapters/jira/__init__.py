"""The Jira REST client: JWT-signed calls to a tenant's site, retries, read-back checks.

`ConnectJiraClient` implements the `JiraClient` port over Atlassian Connect (every call
signed with the tenant's shared secret); `ConnectPersonalDataReporter` implements the
`PersonalDataReporter` port against Atlassian's personal-data reporting API.
"""

from agiletoolbox.adapters.jira.client import ConnectJiraClient, KnownIssues
from agiletoolbox.adapters.jira.personal_data import ConnectPersonalDataReporter
from agiletoolbox.adapters.jira.transport import JiraBusy, SignedTransport

__all__ = [
    "ConnectJiraClient",
    "ConnectPersonalDataReporter",
    "JiraBusy",
    "KnownIssues",
    "SignedTransport",
]
