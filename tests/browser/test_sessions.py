"""Three teammates run a refinement session in real browsers, from the project page of the
simulated Jira: a JQL query, an issue added by hand, a reorder, a skip, five estimates
written to Jira, a late joiner and a page that lost its connection."""

from __future__ import annotations

import asyncio
import csv
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA, DMITRI, STORY_POINTS_FIELD
from tests.browser.axe import violations
from tests.browser.conftest import SITE, Stack
from tests.browser.test_room_page import personal_data, see, visible

pytestmark = pytest.mark.postgres

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "session.png"
JQL = "project = DEMO AND sprint in openSprints() ORDER BY key"
PANEL = "#project-panel iframe"


def frame(page: Any) -> Any:
    return page.frame_locator(PANEL)


def queue_keys(texts: list[str]) -> list[str]:
    return [re.match(r"DEMO-\d+", t).group(0) for t in texts]  # type: ignore[union-attr]


async def order(page: Any) -> list[str]:
    items = frame(page).locator("[data-testid=queue-item] .key")
    return queue_keys(await items.all_inner_texts())


async def state_of(page: Any, key: str) -> str:
    item = frame(page).locator(f'[data-testid=queue-item][data-key="{key}"]')
    return str(await item.get_attribute("data-state"))


async def current(page: Any, key: str) -> None:
    await see(frame(page).locator("[data-testid=current-issue] .current-title"), key)


async def vote_all(pages: list[Any], card: str) -> None:
    for page in pages:
        room = frame(page).locator("[data-testid=session-room]")
        await room.locator(f'.deck .card[data-card="{card}"]').click()


async def estimate(stack: Stack, owner: Any, voters: list[Any], key: str, card: str) -> None:
    """Everyone votes `card` on the current issue; it turns over by itself; the owner
    writes it to Jira and moves on."""
    for page in [owner, *voters]:
        await current(page, key)
    await vote_all([owner, *voters], card)
    room = frame(owner).locator("[data-testid=session-room]")
    await room.locator("[data-key=write]").click()
    await see(room.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    assert stack.jira.field_value(SITE, key, STORY_POINTS_FIELD) == int(card)
    for page in [owner, *voters]:
        await see(frame(page).locator(f'[data-testid=queue-item][data-key="{key}"]'), "Estimate")
    await frame(owner).locator("[data-testid=next-offer] button").click()


async def test_three_people_run_a_session_from_a_jql_query(stack: Stack) -> None:
    site = stack.jira.site(SITE)
    alice = await stack.open(ALICE, url=stack.sessions_url(ALICE), width=1400, height=1000)
    app = frame(alice)
    await see(app.locator(".empty"), "No sessions yet")

    # Alice picks six issues of the open sprint with a query, unticks two of eight.
    await app.locator("[data-key=new-session]").click()
    await app.locator("#jql").fill(JQL)
    await app.locator("[data-key=search]").click()
    await see(app.locator("#search-status"), "8 issues found")
    for key in ("DEMO-8", "DEMO-11"):
        await app.locator(f'input[type=checkbox][data-key="{key}"]').uncheck()
    await see(app.locator("[data-testid=picked-count]"), "6 issues picked")
    field = app.locator("#target-field")
    await see(field.locator("option:checked"), "Story point estimate")
    await app.locator("#autoReveal").check()
    await app.locator("#saveAsDefault").check()
    await app.locator("[data-key=config-submit]").click()
    session = app.locator("[data-testid=session]")
    await visible(session)
    session_id = await session.get_attribute("data-session")
    assert session_id
    picked = ["DEMO-7", "DEMO-9", "DEMO-10", "DEMO-12", "DEMO-13", "DEMO-14"]
    await see(session.locator(".page-head h1"), "0 of 6 estimated")
    assert await order(alice) == picked

    # Bob finds it in the project's list; it opens for him.
    bob = await stack.open(BOB, url=stack.sessions_url(BOB))
    await see(frame(bob).locator("[data-testid=session-line]"), "0 of 6 estimated")
    await frame(bob).locator("[data-testid=session-line] button").click()
    await see(frame(bob).locator("[data-testid=current-issue]"), "Waiting for the owner")

    # The first issue: Bob joins its room; the next rooms he joins by himself.
    await frame(alice).locator("[data-key=next]").click()
    await current(bob, "DEMO-7")
    await frame(bob).locator("[data-key=join-voter]").click()
    await see(frame(bob).locator("[data-testid=description]"), "The owner starts a countdown")
    await estimate(stack, alice, [bob], "DEMO-7", "3")

    # Alice adds an issue by hand mid-session and moves it up to come after the current.
    adder = frame(alice).locator("#add-issue")
    suggestion = frame(alice).locator('[data-key="add-DEMO-20"]')
    for attempt in range(3):
        # Under a loaded CI machine a suggestion was seen to stay away; a person types
        # again. Three tries without one fail the test.
        await adder.fill("")
        await adder.fill("DEMO-20")
        try:
            await suggestion.wait_for(timeout=5_000)
            break
        except Exception:
            if attempt == 2:
                raise
    await suggestion.click()
    await see(frame(bob).locator('[data-testid=queue-item][data-key="DEMO-20"]'), "DEMO-20")
    for _ in range(4):
        await frame(alice).locator('[data-key="up-DEMO-20"]').click()
        await frame(alice).locator('[data-key="up-DEMO-20"]').wait_for()
    expected = ["DEMO-7", "DEMO-9", "DEMO-20", "DEMO-10", "DEMO-12", "DEMO-13", "DEMO-14"]
    for page in (alice, bob):
        await see(frame(page).locator("[data-testid=queue-item]").nth(2), "DEMO-20")
    assert await order(alice) == expected
    await current(alice, "DEMO-9")
    await estimate(stack, alice, [bob], "DEMO-9", "5")
    await current(bob, "DEMO-20")

    # Chitra comes late, straight to the session's address; she joins, then votes along.
    chitra = await stack.open(CHITRA, url=stack.sessions_url(CHITRA, session_id))
    await current(chitra, "DEMO-20")
    assert await order(chitra) == expected
    await frame(chitra).locator("[data-key=join-voter]").click()
    # Nobody sees a card before the reveal: Bob's vote shows Alice only that he voted.
    await frame(bob).locator('[data-testid=session-room] .deck .card[data-card="8"]').click()
    room_of_alice = frame(alice).locator("[data-testid=session-room]")
    await see(room_of_alice.locator(".team .count"), "1 of 3 voted")
    await see(room_of_alice.locator(f'.member[data-account="{BOB}"]'), "voted")
    assert "8" not in await room_of_alice.locator(f'.member[data-account="{BOB}"]').inner_text()
    await vote_all([alice, chitra], "8")
    await room_of_alice.locator("[data-key=write]").click()
    await see(room_of_alice.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    await frame(alice).locator("[data-testid=next-offer] button").click()

    # DEMO-10 is skipped.
    await current(chitra, "DEMO-10")
    await frame(alice).locator("[data-key=skip]").click()
    for page in (alice, bob, chitra):
        await current(page, "DEMO-12")
    assert await state_of(chitra, "DEMO-10") == "skipped"

    # Bob's connection drops; meanwhile Alice takes DEMO-14 out and moves DEMO-13 first.
    stack.network.cut()
    token = stack.jira.context_token(SITE, user=ALICE, project="DEMO")
    headers = {"Authorization": f"JWT {token}"}
    base = f"http://127.0.0.1:{stack.app.settings.port}/api/sessions/{session_id}"
    async with aiohttp.ClientSession(headers=headers) as http:
        async with http.delete(f"{base}/issues/DEMO-14") as answer:
            assert answer.status == 200
        async with http.post(f"{base}/move", json={"issueKey": "DEMO-13", "position": 0}) as answer:
            assert answer.status == 200
    stack.network.restore()
    converged = ["DEMO-13", "DEMO-7", "DEMO-9", "DEMO-20", "DEMO-10", "DEMO-12"]
    for page in (alice, bob, chitra):
        await see(frame(page).locator("[data-testid=queue-item]").first, "DEMO-13")
        await see(frame(page).locator("[data-testid=session-connection]"), "Live")
    for page in (alice, bob, chitra):
        assert await order(page) == converged
    # Alice drags the current issue to the top.
    items = frame(alice).locator("[data-testid=queue-item]")
    await items.filter(has_text="DEMO-12").drag_to(items.filter(has_text="DEMO-13"))
    converged = ["DEMO-12", *converged[:-1]]
    for page in (alice, bob, chitra):
        await see(frame(page).locator("[data-testid=queue-item]").first, "DEMO-12")
        assert await order(page) == converged

    # Two more estimates: five in all, each in its issue's field in Jira.
    await current(alice, "DEMO-12")
    await vote_all([bob, chitra, alice], "2")
    await see(room_of_alice.locator("#results-title"), "Results")
    # A teammate on the issue's own panel meanwhile, and Bob in a second tab: the same.
    dmitri = await stack.open(DMITRI, "DEMO-12")
    panel = dmitri.frame_locator("#glance-panel iframe")
    await see(panel.locator("#results-title"), "Results")
    await see(panel.locator(".room-title"), "Round 1")
    second_tab = await stack.open(BOB, url=stack.sessions_url(BOB, session_id))
    await current(second_tab, "DEMO-12")
    assert await order(second_tab) == converged
    await alice.evaluate("window.scrollTo(0, 0)")
    await alice.screenshot(path=str(SCREENSHOT), full_page=False)
    await room_of_alice.locator("[data-key=write]").click()
    await see(room_of_alice.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    await frame(alice).locator("[data-testid=next-offer] button").click()
    await estimate(stack, alice, [bob, chitra], "DEMO-13", "13")
    for page in (alice, bob, chitra):
        await see(frame(page).locator("[data-testid=session] .page-head h1"), "5 of 6 estimated")
    written = {
        key: stack.jira.field_value(SITE, key, STORY_POINTS_FIELD)
        for key in ("DEMO-7", "DEMO-9", "DEMO-20", "DEMO-12", "DEMO-13", "DEMO-10")
    }
    assert written == {
        "DEMO-7": 3, "DEMO-9": 5, "DEMO-20": 8, "DEMO-12": 2, "DEMO-13": 13, "DEMO-10": None
    }  # fmt: skip
    await see(frame(alice).locator("[data-testid=all-done]"), "Every issue is estimated or skipped")

    # The record: totals, per issue; the CSV is made by the browser, with the summaries.
    await frame(alice).locator("[data-key=summary]").click()
    await see(
        frame(alice).locator("[data-testid=totals]"),
        "5 of 6 estimated · 1 skipped · 31 points added",
    )
    async with alice.expect_download() as downloading:
        await frame(alice).locator("[data-key=download]").click()
    saved = await (await downloading.value).path()
    text = await asyncio.to_thread(Path(saved).read_text, "utf-8")
    rows = list(csv.reader(text.splitlines()))
    assert rows[0] == ["Issue", "Summary", "Estimate", "Votes", "Agreement", "Rounds", "State"]
    by_key = {row[0]: row for row in rows[1:]}
    assert by_key["DEMO-20"][1:] == [
        site.issues["DEMO-20"].summary,
        "8",
        "3",
        "100%",
        "1",
        "Estimated",
    ]
    assert by_key["DEMO-10"][2:] == ["", "0", "", "0", "Skipped"]
    # "Run again" starts a session of what is left.
    await frame(alice).locator("[data-key=run-again]").click()
    await see(frame(alice).locator("[data-testid=session] .page-head h1"), "0 of 1 estimated")
    assert await order(alice) == ["DEMO-10"]

    # The next session starts from Alice's saved default; the list counts the first.
    await frame(alice).get_by_role("button", name="All sessions").click()
    await see(frame(alice).locator("[data-testid=session-line]").nth(1), "5 of 6 estimated")
    await frame(alice).locator("[data-key=new-session]").click()
    await see(frame(alice).locator(".pick"), "issues found")
    await see(frame(alice).locator(".form-slot"), "Filled in from your saved default")
    assert await frame(alice).locator("#autoReveal").is_checked()
    icon = frame(alice).locator("[data-testid=hit] .type img").first
    assert await icon.evaluate("(image) => image.complete && image.naturalWidth > 0")

    # Nothing typed and nothing personal went to the app: no summary, name, e-mail, JQL.
    sent = "\n".join(await stack.traffic.texts())
    summaries = [site.issues[key].summary for key in ("DEMO-7", "DEMO-9", "DEMO-20")]
    for secret in [*personal_data(stack), *summaries, JQL, "openSprints"]:
        assert secret not in sent, secret
    assert stack.errors == []


async def test_the_sessions_pages_have_no_serious_accessibility_violation(stack: Stack) -> None:
    """axe-core (WCAG 2.1 A/AA) on each screen: the empty list, the new-session form with
    its results, the session page with its room, the list with a session."""
    alice = await stack.open(ALICE, url=stack.sessions_url(ALICE), bypass_csp=True)
    app = frame(alice)
    found: dict[str, list[str]] = {}
    await see(app.locator(".empty"), "No sessions yet")
    found["empty list"] = await violations(alice)
    await app.locator("[data-key=new-session]").click()
    await see(app.locator("#search-status"), "issues found")
    found["new session"] = await violations(alice)
    await app.locator("[data-key=config-submit]").click()
    await app.locator("[data-key=next]").click()
    await visible(app.locator("[data-testid=session-room] .deck"))
    found["session"] = await violations(alice)
    await app.get_by_role("button", name="All sessions").click()
    await visible(app.locator("[data-testid=session-line]"))
    found["list"] = await violations(alice)
    await app.locator("[data-key=new-session]").click()
    await see(app.locator("#search-status"), "issues found")
    await app.locator("[data-key=mode-async]").check()
    found["new async session"] = await violations(alice)
    await app.locator("[data-key=config-submit]").click()
    await visible(app.locator("[data-testid=session-room] .deck"))
    await visible(app.locator("[data-testid=progress]"))
    found["async session"] = await violations(alice)
    assert found == {key: [] for key in found}
