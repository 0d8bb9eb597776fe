"""A Jira Cloud site simulator: the independent other side of the Connect protocol.

It installs the app the way Jira does (descriptor, RS256-signed `installed`, HS256
`enabled`), signs iframe URLs and context tokens, serves the Jira REST endpoints the app
calls and checks the app's JWTs strictly, serves people's names to browsers only, shows
an issue view that hosts the app's page with a faithful `AP` bridge (`issueview`), runs
Atlassian's install-keys server and personal-data API, switches faults on and off, and
records everything. It shares no code with `agiletoolbox.adapters.connect`.

Start it in a test::

    async with JiraSimulator() as jira:            # sites "acme" and "globex"
        await jira.install("acme", app_base_url)   # descriptor, installed, enabled
        url = jira.iframe_url("acme", "room-glance", user=ALICE, issue="DEMO-1")
        token = jira.context_token("acme", user=ALICE, issue="DEMO-1")
        jira.faults("acme").rate_limit(calls=2, retry_after=1)
        jira.recorder.requests                     # what the app asked, JWT valid or not

Or run it alone: `python -m agiletoolbox.simulator --port 8090 --install <app url>`.
"""

from agiletoolbox.simulator.app import JiraSimulator
from agiletoolbox.simulator.faults import Faults
from agiletoolbox.simulator.lifecycle import InstallFailed
from agiletoolbox.simulator.record import Delivery, RecordedRequest
from agiletoolbox.simulator.sample import (
    ALICE,
    BOB,
    CHITRA,
    DMITRI,
    EMMA,
    OFF_SCREEN_FIELD,
    STORY_POINTS_FIELD,
    TEST_ACTIVE_ACCOUNT,
    TEST_CLOSED_ACCOUNT,
    TEXT_FIELD,
    TEXTAREA_FIELD,
    TSHIRT_FIELD,
)
from agiletoolbox.simulator.site import Installation, Issue, Site, User

__all__ = [
    "ALICE",
    "BOB",
    "CHITRA",
    "DMITRI",
    "EMMA",
    "OFF_SCREEN_FIELD",
    "STORY_POINTS_FIELD",
    "TEST_ACTIVE_ACCOUNT",
    "TEST_CLOSED_ACCOUNT",
    "TEXTAREA_FIELD",
    "TEXT_FIELD",
    "TSHIRT_FIELD",
    "Delivery",
    "Faults",
    "InstallFailed",
    "Installation",
    "Issue",
    "JiraSimulator",
    "RecordedRequest",
    "Site",
    "User",
]
