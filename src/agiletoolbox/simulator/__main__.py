"""Run the simulator alone: `python -m agiletoolbox.simulator [--port P] [--install URL]`.

It prints where its install-keys server and personal-data API are (for the app's
settings), installs the app at each `--install` URL on site `acme`, and prints a signed
URL of the app's first issue module for Alice on DEMO-1 (valid for three minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from agiletoolbox.simulator.app import JiraSimulator
from agiletoolbox.simulator.sample import ALICE


def _first_issue_module(descriptor: dict[str, object]) -> str | None:
    modules = descriptor.get("modules")
    if not isinstance(modules, dict):
        return None
    for kind in ("jiraIssueGlances", "jiraIssueContents", "webPanels", "dialogs"):
        entries = modules.get(kind)
        if isinstance(entries, list) and entries and isinstance(entries[0], dict):
            key = entries[0].get("key")
            if isinstance(key, str):
                return key
    return None


async def run(host: str, port: int, installs: list[str]) -> None:
    """Serve until interrupted."""
    simulator = JiraSimulator()
    origin = await simulator.start(host, port)
    try:
        print(f"Jira simulator at {origin}")
        print(f"  AGILETOOLBOX_INSTALL_KEYS_URL={simulator.install_keys_url}")
        print(f"  AGILETOOLBOX_PERSONAL_DATA_URL={simulator.personal_data_url}")
        for site in simulator.cloud.sites.values():
            print(f"  site {site.name}: {site.base_url} (clientKey {site.client_key})")
        for app_url in installs:
            installation = await simulator.install("acme", app_url)
            print(f"installed {installation.app_key} on acme")
            module = _first_issue_module(installation.descriptor)
            if module is not None:
                url = simulator.iframe_url(
                    "acme", module, user=ALICE, issue="DEMO-1", app_key=installation.app_key
                )
                print(f"  {module} for Alice on DEMO-1: {url}")
        await asyncio.Event().wait()
    finally:
        await simulator.close()


def main() -> None:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m agiletoolbox.simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--install", action="append", default=[], metavar="APP_URL")
    arguments = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(arguments.host, arguments.port, arguments.install))


if __name__ == "__main__":
    main()
