"""An async refinement session in real browsers: three people estimate the queue at
different times (one never finishes), each seeing only their own cards and the team's
counts; the owner reviews it, the least agreed issue first, accepts every unanimous one in
one step, re-votes the rest, and downloads the record."""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA, STORY_POINTS_FIELD
from tests.browser.conftest import SITE, Stack
from tests.browser.test_room_page import personal_data, see, visible
from tests.browser.test_sessions import JQL, current, frame, order

pytestmark = pytest.mark.postgres

PICKED = ["DEMO-7", "DEMO-9", "DEMO-10", "DEMO-12"]


def item(page: Any, key: str) -> Any:
    return frame(page).locator(f'[data-testid=queue-item][data-key="{key}"]')


def progress_of(page: Any, account: str) -> Any:
    return frame(page).locator(f'[data-testid=person-progress][data-account="{account}"]')


async def walk(page: Any, cards: dict[str, str | None]) -> None:
    """Go through the queue from the first issue: vote each card given, skip the ones
    given None, one issue after another with Next or Skip."""
    app = frame(page)
    for key, card in cards.items():
        await see(app.locator("[data-testid=current-issue] .current-title"), key)
        room = app.locator("[data-testid=session-room]")
        if card is None:
            await app.locator("[data-key=skip]").click()
            continue
        await room.locator(f'.deck .card[data-card="{card}"]').click()
        await see(item(page, key).locator("[data-testid=your-card]"), f"Your card: {card}")
        if key != list(cards)[-1]:
            await app.locator("[data-key=walk-next]").click()


async def test_three_people_estimate_at_their_own_pace_then_review(stack: Stack) -> None:
    site = stack.jira.site(SITE)
    alice = await stack.open(ALICE, url=stack.sessions_url(ALICE), width=1400, height=1000)
    app = frame(alice)
    await app.locator("[data-key=new-session]").click()
    await app.locator("#jql").fill(JQL)
    await app.locator("[data-key=search]").click()
    await see(app.locator("#search-status"), "8 issues found")
    for key in ("DEMO-8", "DEMO-11", "DEMO-13", "DEMO-14"):
        await app.locator(f'input[type=checkbox][data-key="{key}"]').uncheck()
    await app.locator("[data-key=mode-async]").check()
    await visible(app.locator("#deadline"))
    await see(app.locator("#target-field option:checked"), "Story point estimate")
    await app.locator("#commentOnEstimate").check()
    await app.locator("[data-key=config-submit]").click()
    session = app.locator("[data-testid=session]")
    await visible(session.locator("[data-testid=progress]"))
    session_id = await session.get_attribute("data-session")
    assert session_id
    assert await order(alice) == PICKED
    # No reveal in an async session's room, and no driving before the review.
    await see(session.locator("[data-testid=hidden-votes]"), "stay hidden until you review")
    assert await session.locator("[data-key=reveal]").count() == 0
    assert await session.locator("[data-key=next]").count() == 0

    # Alice estimates everything first, then leaves.
    await walk(alice, {"DEMO-7": "5", "DEMO-9": "3", "DEMO-10": "8", "DEMO-12": "2"})
    await see(progress_of(alice, ALICE), "You: 4 of 4")
    await see(app.locator("[data-testid=you-finished]"), "You have a card on every issue")
    await alice.goto("about:blank")  # leaves: the page and its sockets close

    # Bob comes later: he starts at the first issue he has no card on, sees that Alice
    # voted but never her card, and goes back once to change his mind.
    bob = await stack.open(BOB, url=stack.sessions_url(BOB, session_id))
    await current(bob, "DEMO-7")
    room = frame(bob).locator("[data-testid=session-room]")
    await see(room.locator(f'.member[data-account="{ALICE}"]'), "voted")
    assert "5" not in await room.locator(f'.member[data-account="{ALICE}"]').inner_text()
    await see(progress_of(bob, ALICE), "4 of 4")
    await walk(bob, {"DEMO-7": "5", "DEMO-9": "13"})
    await frame(bob).locator("[data-key=back]").click()
    await current(bob, "DEMO-7")
    await frame(bob).locator("[data-key=walk-next]").click()
    await current(bob, "DEMO-9")
    # Skip goes to the next issue without his card.
    await frame(bob).locator("[data-key=skip]").click()
    await walk(bob, {"DEMO-10": "8", "DEMO-12": "2"})
    await see(progress_of(bob, BOB), "You: 4 of 4")
    # His own cards only, in the queue; counts for the rest.
    assert [await item(bob, k).locator("[data-testid=your-card]").inner_text() for k in PICKED] == [
        "Your card: 5",
        "Your card: 13",
        "Your card: 8",
        "Your card: 2",
    ]
    await bob.goto("about:blank")  # leaves: the page and its sockets close

    # Chitra estimates one issue, skips one, and never comes back. Her card goes out while
    # the network to the app is down: the queue says "Your card" only once the server
    # holds it.
    chitra = await stack.open(CHITRA, url=stack.sessions_url(CHITRA, session_id))
    await current(chitra, "DEMO-7")
    chitras_room = frame(chitra).locator("[data-testid=session-room]")
    await visible(chitras_room.locator(".deck"))
    stack.network.cut()
    await chitras_room.locator('.deck .card[data-card="5"]').click()
    await see(chitras_room.locator(".deck-section .hint"), "goes out when the connection")
    await see(item(chitra, "DEMO-7").locator("[data-testid=your-card]"), "No card yet")
    stack.network.restore()
    await see(item(chitra, "DEMO-7").locator("[data-testid=your-card]"), "Your card: 5")
    await frame(chitra).locator("[data-key=walk-next]").click()
    await walk(chitra, {"DEMO-9": None})
    await current(chitra, "DEMO-10")
    await see(item(chitra, "DEMO-9").locator("[data-testid=your-card]"), "No card yet")
    await chitra.goto("about:blank")  # leaves: the page and its sockets close

    # Alice is back: two of three have finished; she reviews without waiting for Chitra.
    alice = await stack.open(ALICE, url=stack.sessions_url(ALICE, session_id), width=1400)
    app = frame(alice)
    await see(progress_of(alice, BOB), "4 of 4")
    await see(progress_of(alice, CHITRA), "1 of 4")
    await see(app.locator("[data-testid=finished-count]"), "2 of 3 finished")
    await app.locator("[data-key=review]").dblclick()  # a double click reviews once

    # The review: the least agreed first; the unanimous ones accepted in one step.
    await see(app.locator("[data-key=accept-unanimous]"), "Accept all unanimous: 3 issues")
    assert await order(alice) == ["DEMO-9", "DEMO-7", "DEMO-10", "DEMO-12"]
    await see(item(alice, "DEMO-9").locator("[data-testid=issue-counts]"), "2 votes")
    await see(item(alice, "DEMO-7").locator("[data-testid=unanimous]"), "Unanimous")
    await current(alice, "DEMO-9")
    await app.locator("[data-key=accept-unanimous]").dblclick()
    await see(app.locator("[data-testid=accepted]"), "DEMO-7, DEMO-10, DEMO-12")
    sent = await stack.traffic.texts()
    for step in ("review", "accept-unanimous"):
        asked = [line for line in sent if line.endswith(f"/api/sessions/{session_id}/{step}")]
        assert len(asked) == 1, (step, "a double click sends one request")
    for key, value in (("DEMO-7", 5), ("DEMO-10", 8), ("DEMO-12", 2)):
        assert stack.jira.field_value(SITE, key, STORY_POINTS_FIELD) == value
        await see(item(alice, key), "Estimate")

    # DEMO-9 is discussed: revealed, then a re-vote as a new round with Bob back.
    room = app.locator("[data-testid=session-room]")
    await room.locator("[data-key=reveal]").click()
    await see(room.locator("#results-title"), "Results")
    await room.locator("[data-key=reset]").click()
    await see(room.locator(".room-title"), "Round 2")
    bob = await stack.open(BOB, url=stack.sessions_url(BOB, session_id))
    await current(bob, "DEMO-9")
    for page in (alice, bob):
        deck = frame(page).locator("[data-testid=session-room] .deck")
        await deck.locator('.card[data-card="5"]').click()
    await see(room.locator(".team .count"), "2 of")
    await room.locator("[data-key=reveal]").click()
    await room.locator("[data-key=write]").click()
    await see(room.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    assert stack.jira.field_value(SITE, "DEMO-9", STORY_POINTS_FIELD) == 5
    await see(room.locator("[data-testid=estimate-comment]"), "A comment with the estimate")

    # Each estimate left one comment in Jira, in Atlassian Document Format, no names.
    said = {
        "DEMO-7": "Estimated 5 (Story point estimate) in a planning poker session: "
        "3 votes, agreement 100%, 1 round.",
        "DEMO-10": "Estimated 8 (Story point estimate) in a planning poker session: "
        "2 votes, agreement 100%, 1 round.",
        "DEMO-12": "Estimated 2 (Story point estimate) in a planning poker session: "
        "2 votes, agreement 100%, 1 round.",
        "DEMO-9": "Estimated 5 (Story point estimate) in a planning poker session: "
        "2 votes, agreement 100%, 2 rounds.",
    }
    for key, sentence in said.items():
        (comment,) = stack.jira.comments(SITE, key)
        body = comment["body"]
        assert (body["version"], body["type"]) == (1, "doc")
        (paragraph,) = body["content"]
        assert paragraph["type"] == "paragraph"
        assert "".join(node["text"] for node in paragraph["content"]) == sentence
        assert paragraph["content"][1]["marks"] == [{"type": "strong"}]
    await see(app.locator("[data-testid=session] .page-head h1"), "4 of 4 estimated")

    # The record, downloaded as CSV built in the browser.
    await app.locator("[data-key=summary]").click()
    await see(app.locator("[data-testid=totals]"), "4 of 4 estimated · 0 skipped · 20 points")
    async with alice.expect_download() as downloading:
        await app.locator("[data-key=download]").click()
    saved = await (await downloading.value).path()
    text = await asyncio.to_thread(Path(saved).read_text, "utf-8")
    rows = {row[0]: row for row in list(csv.reader(text.splitlines()))[1:]}
    assert rows["DEMO-9"][1:] == [site.issues["DEMO-9"].summary, "5", "2", "100%", "2", "Estimated"]
    assert rows["DEMO-7"][2:] == ["5", "3", "100%", "1", "Estimated"]

    # Nothing typed and nothing personal went to the app.
    sent = "\n".join(await stack.traffic.texts())
    summaries = [site.issues[key].summary for key in PICKED]
    for secret in [*personal_data(stack), *summaries, JQL]:
        assert secret not in sent, secret
    assert stack.errors == []
