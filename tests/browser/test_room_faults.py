"""The room under real hands: double clicks, leavers, far votes, long input, stale messages.

Each test here was first seen failing in a real browser (the defect it names), then fixed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA
from tests.browser.axe import app_frame, axe_script, violations
from tests.browser.conftest import SITE, Stack
from tests.browser.test_room_page import see, views_received, visible

pytestmark = pytest.mark.postgres


async def expect_gone(locator: Any) -> None:
    from playwright.async_api import expect

    await expect(locator).to_have_count(0, timeout=15_000)


async def open_room(stack: Stack, room_of: Callable[[Any], Any], issue: str) -> tuple[Any, Any]:
    """Alice's page and frame, with the issue's room open (Fibonacci, Story points)."""
    page = await stack.open(ALICE, issue)
    room = room_of(page)
    await room.get_by_role("button", name="Open the room").click()
    await see(room.locator(".room-title"), "Round 1")
    await see(room.locator("[data-testid=connection]"), "Live")
    return page, room


async def test_a_double_click_never_undoes_a_vote_or_skips_a_round(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page, alice = await open_room(stack, room_of, "DEMO-6")

    # A double-clicked card is picked, not picked and taken back.
    await alice.locator('.deck .card[data-card="5"]').dblclick()
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await page.wait_for_timeout(500)
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await page.reload()
    alice = room_of(page)
    await see(alice.locator("[data-testid=connection]"), "Live")
    await see(alice.locator(".deck .card[aria-pressed=true]"), "5")

    # A double-clicked "New round" ends round 1 once.
    await alice.get_by_role("button", name="Reveal cards").dblclick()
    await see(alice.locator(".results"), "Results")
    await alice.get_by_role("button", name="New round").dblclick()
    await see(alice.locator(".room-title"), "Round 2")
    await page.wait_for_timeout(500)
    await see(alice.locator(".room-title"), "Round 2")
    assert await alice.locator(".history .rounds > li").count() == 1
    await see(alice.locator(".history"), "Round 1 · 1 vote")

    # Restarting a round drops its votes, so it asks first.
    await alice.locator('.deck .card[data-card="8"]').click()
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await alice.get_by_role("button", name="Restart round…").click()
    dialog = alice.get_by_role("alertdialog")
    await see(dialog, "Restart round 2?")
    await see(dialog, "The vote cast so far is dropped unseen")
    await dialog.get_by_role("button", name="Cancel").click()
    await see(alice.locator(".room-title"), "Round 2")
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await alice.get_by_role("button", name="Restart round…").click()
    await alice.get_by_role("alertdialog").get_by_role("button", name="Restart round").click()
    await see(alice.locator(".room-title"), "Round 3")
    await see(alice.locator(".history"), "Round 2 · not revealed")
    assert stack.errors == []


async def test_results_name_the_far_vote_and_agree_after_someone_leaves(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    _page, alice = await open_room(stack, room_of, "DEMO-7")
    bob = room_of(await stack.open(BOB, "DEMO-7"))
    chitra = room_of(await stack.open(CHITRA, "DEMO-7"))
    for room in (bob, chitra):
        await room.get_by_role("button", name="Join as voter").click()
    await see(alice.locator(".team"), "Chitra Raman")
    for room, card in ((alice, "3"), (bob, "5"), (chitra, "13")):
        await room.locator(f'.deck .card[data-card="{card}"]').click()
    await see(alice.locator(".team .count"), "3 of 3 voted")
    await alice.get_by_role("button", name="Reveal cards").click()

    # 3, 5, 13: the 13 stands apart from the median card 5, not the 3.
    results = alice.locator(".results")
    await see(results.locator(".outliers"), "Chitra Raman (13)")
    assert "Alice" not in await results.locator(".outliers").inner_text()
    await visible(alice.locator(f'.member.is-outlier[data-account="{CHITRA}"]'))
    # No card holds a majority: the median card is suggested, and says why.
    await see(alice.locator("[data-testid=suggested]"), "Suggested: 5 (median card)")
    assert await alice.get_by_label("Agreed estimate").input_value() == "5"

    # Chitra leaves the revealed round: every part of the results counts the same votes.
    await chitra.get_by_role("button", name="More actions").click()
    await chitra.get_by_role("menuitem", name="Leave the room").click()
    await see(alice.locator(".team"), re.compile(r"^(?!.*Chitra Raman).*$", re.S))
    await see(results.locator("[data-stat=mode] dd"), "3, 5")
    await see(results.locator("[data-stat=spread] dd"), "3 \u2013 5")
    await see(results.locator("[data-stat=mean] dd"), "4")
    assert await results.locator(".distribution li").count() == 2
    assert await results.locator(".outliers").count() == 0

    # The owner prefers the mean: the suggestion follows the room's rule.
    await alice.get_by_role("button", name="More actions").click()
    await alice.get_by_role("menuitem", name="Room settings").click()
    await alice.get_by_label("Suggested estimate").select_option("mean")
    await alice.get_by_role("button", name="Save settings").click()
    await see(alice.locator("[data-testid=suggested]"), "Suggested: 5 (nearest the mean)")

    await alice.get_by_role("button", name="New round").click()
    await see(alice.locator(".history"), "Round 1 · 2 votes · mode 3, 5")
    assert stack.errors == []


async def test_a_long_or_negative_estimate_gets_an_answer_not_a_reconnect_loop(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page, alice = await open_room(stack, room_of, "DEMO-8")
    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    await alice.locator('.deck .card[data-card="5"]').click()
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await alice.get_by_role("button", name="Reveal cards").click()
    estimate = alice.get_by_label("Agreed estimate")
    write = alice.get_by_role("button", name="Write to Story point estimate")

    # 9,000 characters, pasted: a clear answer at once, and the room stays live.
    await estimate.fill("5" * 9000)
    await write.click()
    error = alice.locator("[data-testid=estimate-error]")
    await see(error, "The estimate was not written.")
    await see(error, "an estimate is a number from 0 to 1,000,000")
    await page.wait_for_timeout(2000)
    await see(alice.locator("[data-testid=connection]"), "Live")
    assert sockets == [], "the socket was closed and opened again"
    await visible(write)
    assert await write.inner_text() == "Write to Story point estimate"

    # A negative number is out of range (it is a number), and the app said so, not Jira.
    await estimate.fill("-3")
    await write.click()
    await see(error, "'-3' is out of range")
    assert "Jira did not take" not in await error.inner_text()
    assert stack.errors == []


async def test_a_first_visit_is_quiet_and_the_dialog_fits_and_closes_with_escape(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    console: list[str] = []
    page = await stack.open(ALICE, "DEMO-9")
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    alice = room_of(page)
    # An issue without a room is a normal state: the form, and nothing in the console.
    await see(alice.locator("form.config"), "Set up planning poker for DEMO-9")
    await page.wait_for_timeout(4500)  # one round of watching for a teammate's room
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator("[data-testid=connection]"), "Live")
    assert console == []

    await alice.get_by_role("button", name="More actions").click()
    await alice.get_by_role("menuitem", name="Open in a larger view").click()
    frame = page.locator(".dialog iframe")
    await visible(frame)
    dialog = page.frame_locator(".dialog iframe")
    await see(dialog.locator("[data-testid=connection]"), "Live")
    await page.wait_for_timeout(500)
    # The dialog is as tall as what it shows: no large empty area below the room.
    content = await dialog.locator("body").evaluate(
        "b => b.ownerDocument.documentElement.scrollHeight"
    )
    box = await page.locator(".dialog").bounding_box()
    assert box is not None
    assert abs(box["height"] - content) <= 24, (box["height"], content)

    await dialog.locator(".deck .card").first.focus()
    await page.keyboard.press("Escape")
    await visible(alice.locator(".room-title"))
    await expect_gone(page.locator(".dialog"))
    # Closed from its own button too, without an error in the host page.
    await alice.get_by_role("button", name="More actions").click()
    await alice.get_by_role("menuitem", name="Open in a larger view").click()
    await page.frame_locator(".dialog iframe").get_by_role("button", name="Close").click()
    await page.wait_for_timeout(300)
    assert await page.locator(".dialog").count() == 0
    assert stack.errors == []
    assert console == []


async def test_the_apps_root_url_says_what_it_is(stack: Stack) -> None:
    context = await stack.browser.new_context()
    page = await context.new_page()
    answer = await page.goto(stack.network.url + "/")
    assert answer is not None
    assert answer.status == 200
    await see(page.locator("h1"), "Agile Toolbox for Jira")
    await see(page.locator("main"), "/atlassian-connect.json")
    await page.get_by_role("link", name="OpenAPI document").click()
    await see(page.locator("body"), '"openapi"')


async def test_the_room_takes_keyboard_shortcuts(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page, alice = await open_room(stack, room_of, "DEMO-10")
    pressed = alice.locator(".deck .card[aria-pressed=true]")
    await alice.locator(".room-title").click()
    await page.keyboard.type("13")
    await see(pressed, "13")
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await page.keyboard.press("5")
    await see(pressed, "5")
    await page.keyboard.press("Backspace")
    await see(alice.locator(".team .count"), "0 of 1 voted")
    assert await pressed.count() == 0
    await page.keyboard.press("?")
    await see(pressed, "?")
    await page.keyboard.press("8")
    await see(pressed, "8")

    # The owner reveals with R, and starts the next round with N.
    await page.keyboard.press("r")
    await see(alice.locator(".results"), "Results")
    # Typing an estimate is typing, not shortcuts.
    estimate = alice.get_by_label("Agreed estimate")
    await estimate.fill("")
    await estimate.type("13")
    assert await estimate.input_value() == "13"
    await see(alice.locator(".room-title"), "Round 1")
    await alice.locator(".room-title").click()
    await page.keyboard.press("n")
    await see(alice.locator(".room-title"), "Round 2")

    # On a deck with ½, "h" picks it (there is no key for ½).
    await alice.get_by_role("button", name="More actions").click()
    await alice.get_by_role("menuitem", name="Room settings").click()
    await alice.get_by_label("Modified Fibonacci").check()
    await alice.get_by_role("button", name="Save settings").click()
    await see(alice.locator(".subtitle"), "Modified Fibonacci deck")
    await alice.locator(".room-title").click()
    await page.keyboard.press("h")
    await see(pressed, "½")

    # The "?" button lists them; Esc closes the list.
    await alice.get_by_role("button", name="Keyboard shortcuts").click()
    shortcuts = alice.get_by_role("region", name="Keyboard shortcuts")
    await see(shortcuts, "Take your card back")
    await see(shortcuts, "Reveal the cards")
    await page.keyboard.press("Escape")
    assert await shortcuts.count() == 0
    assert stack.errors == []


async def test_no_serious_accessibility_violation_in_any_state(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    axe_script()  # skip early when axe-core is not installed
    page = await stack.open(ALICE, "DEMO-11", bypass_csp=True)
    bob_page = await stack.open(BOB, "DEMO-11", bypass_csp=True)
    alice, bob = room_of(page), room_of(bob_page)
    found: dict[str, list[str]] = {}

    async def check(state: str, which: Any = page) -> None:
        await which.wait_for_timeout(200)
        found[state] = await violations(which)

    await see(alice.locator("form.config"), "Set up planning poker")
    await alice.get_by_label("Custom numbers").check()
    await check("setup form")
    await alice.get_by_label("Fibonacci", exact=True).check()
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator("[data-testid=connection]"), "Live")
    await see(bob.locator(".join"), "Join the estimate")
    await check("join offer", bob_page)
    await bob.get_by_role("button", name="Join as voter").click()
    await alice.locator('.deck .card[data-card="5"]').click()
    await bob.locator('.deck .card[data-card="13"]').click()
    await see(alice.locator(".team .count"), "2 of 2 voted")
    await see(alice.locator("#announcer"), "2 of 2 voted.")
    await check("voting")
    await alice.get_by_role("button", name="Keyboard shortcuts").click()
    await check("shortcuts")
    await alice.get_by_role("button", name="Reveal cards").click()
    await see(alice.locator(".results"), "Results")
    # Focus follows the room: from the reveal button (gone) to the results.
    await see(alice.locator(":focus"), "Results")
    await check("revealed, owner")
    await check("revealed, teammate", bob_page)
    await alice.get_by_label("Agreed estimate").fill("-3")
    await alice.get_by_role("button", name="Write to Story point estimate").click()
    await see(alice.locator("[data-testid=estimate-error]"), "out of range")
    await check("estimate refused")
    await alice.get_by_role("button", name="New round").click()
    await see(alice.locator(":focus"), "0")  # the deck's first card
    await alice.locator('.deck .card[data-card="3"]').click()
    await alice.get_by_role("button", name="Restart round…").click()
    await see(alice.get_by_role("alertdialog"), "Restart round 2?")
    await check("confirmation")
    await page.keyboard.press("Escape")
    await alice.get_by_role("button", name="More actions").click()
    await check("menu")
    await alice.get_by_role("menuitem", name="Room settings").click()
    await check("settings form")
    assert {state: v for state, v in found.items() if v} == {}


def clock_seconds(text: str) -> int:
    minutes, _, seconds = text.strip().partition(":")
    return int(minutes) * 60 + int(seconds)


async def test_a_round_timer_counts_down_alike_everywhere_and_reveals_at_the_end(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page = await stack.open(ALICE, "DEMO-12")
    alice = room_of(page)
    # Bob's computer clock is an hour fast: his countdown still follows the server's.
    bob_page = await stack.open(BOB, "DEMO-12")
    await bob_page.context.add_init_script("Date.now = (now => () => now() + 3600000)(Date.now)")
    await bob_page.reload()
    bob = room_of(bob_page)
    received: list[str] = []
    bob_page.on("websocket", lambda ws: ws.on("framereceived", lambda p: received.append(str(p))))
    await alice.get_by_label("Reveal when the timer ends").check()
    await alice.get_by_role("button", name="Open the room").click()
    await bob.get_by_role("button", name="Join as voter").click()
    await see(alice.locator(".team"), "Bob Brennan")
    await alice.locator('.deck .card[data-card="3"]').click()
    await bob.locator('.deck .card[data-card="5"]').click()
    await see(alice.locator(".team .count"), "2 of 2 voted")

    await alice.get_by_role("button", name="1 min").click()
    for room in (alice, bob):
        await visible(room.locator("[data-testid=timer]"))
    mine = clock_seconds(await alice.locator("[data-testid=timer] .timer-left").inner_text())
    his = clock_seconds(await bob.locator("[data-testid=timer] .timer-left").inner_text())
    assert 50 <= mine <= 60
    assert abs(mine - his) <= 2, (mine, his)
    assert await bob.get_by_role("button", name="Stop timer").count() == 0
    await alice.get_by_role("button", name="+30 s").click()
    await see(bob.locator("[data-testid=timer]"), re.compile(r"1:[2-3]\d"))
    await alice.get_by_role("button", name="Stop timer").click()
    await see(alice.locator(".controls"), "Timer:")
    await expect_gone(bob.locator("[data-testid=timer]"))

    # A short one (12 s): when it ends the cards turn over by themselves.
    await alice.get_by_label("Minutes").fill("0.2")
    await alice.get_by_role("button", name="Start", exact=True).click()
    await see(bob.locator("[data-testid=timer]"), re.compile(r"0:(0\d|1[0-2])"))
    for room in (alice, bob):
        await see(room.locator(".results"), "Results")
    await see(bob.locator(f'.member[data-account="{ALICE}"] .mini-card.face'), "3")
    # Until the reveal, nothing Bob was sent (timer changes included) held Alice's card.
    for view in views_received(received):
        if view["state"] == "voting":
            assert all(p["card"] is None for p in view["participants"] if p["accountId"] != BOB)
    assert stack.errors == []


DARK_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "room-revealed-dark.png"


async def test_the_room_follows_jiras_dark_theme(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    axe_script()
    page = await stack.open(ALICE, "DEMO-3", theme="dark", bypass_csp=True)
    bob_page = await stack.open(BOB, "DEMO-3", theme="dark")
    alice, bob = room_of(page), room_of(bob_page)
    await see(alice.locator("form.config"), "Set up planning poker")
    frame = app_frame(page)
    assert await frame.evaluate("document.documentElement.dataset.colorMode") == "dark"
    background = await frame.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(34, 39, 43)", background
    found = {"setup form": await violations(page)}
    await alice.get_by_role("button", name="Open the room").click()
    await bob.get_by_role("button", name="Join as voter").click()
    await alice.locator('.deck .card[data-card="5"]').click()
    await bob.locator('.deck .card[data-card="8"]').click()
    await see(alice.locator(".team .count"), "2 of 2 voted")
    found["voting"] = await violations(page)
    await alice.get_by_role("button", name="Reveal cards").click()
    await see(alice.locator(".results"), "Results")
    await page.wait_for_timeout(300)
    found["revealed"] = await violations(page)
    # From the top: a page scrolled when focus moved would draw its sticky bar mid-page.
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=str(DARK_SCREENSHOT), full_page=True)
    # A light page next to it stays light: the theme is each person's.
    light_page = await stack.open(CHITRA, "DEMO-3")
    await see(room_of(light_page).locator(".room-title"), "Round 1")
    mode = await app_frame(light_page).evaluate("document.documentElement.dataset.colorMode")
    assert mode == "light"
    assert {state: v for state, v in found.items() if v} == {}
    assert stack.errors == []


async def call_app(stack: Stack, method: str, path: str, account: str, issue: str) -> Any:
    """A REST call straight to the app (past the browsers' cut network), as `account`."""
    token = stack.jira.context_token(SITE, user=account, issue=issue)
    url = f"http://127.0.0.1:{stack.app.settings.port}{path}"
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, headers={"Authorization": f"JWT {token}"}) as answer,
    ):
        assert answer.status == 200, await answer.text()
        return await answer.json()


async def test_a_refusal_says_what_was_not_saved_and_goes_with_its_round(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    _page, alice = await open_room(stack, room_of, "DEMO-4")
    bob = room_of(await stack.open(BOB, "DEMO-4"))
    await bob.get_by_role("button", name="Join as voter").click()
    await alice.locator('.deck .card[data-card="3"]').click()
    await see(bob.locator(".team .count"), "1 of 2 voted")
    room = await call_app(stack, "GET", "/api/rooms?issueKey=DEMO-4", ALICE, "DEMO-4")

    # Bob votes while his network is down; meanwhile the owner reveals.
    stack.network.cut()
    await see(bob.locator("[data-testid=connection]"), "Reconnecting")
    await bob.locator('.deck .card[data-card="8"]').click()
    await see(bob.locator("[data-testid=vote-pending]"), "8 not saved yet")
    await call_app(stack, "POST", f"/api/rooms/{room['id']}/reveal", ALICE, "DEMO-4")
    stack.network.restore()
    notice = bob.locator(".room > .message.error")
    await see(notice, "Your vote (8) was not saved: the votes are revealed")
    await see(bob.locator(".results"), "Results")
    assert await bob.locator("[data-testid=vote-pending]").count() == 0
    # The refusal belonged to round 1: the next round clears it.
    await alice.get_by_role("button", name="New round").click()
    await see(bob.locator(".room-title"), "Round 2")
    await expect_gone(notice)

    # Alice is away (her network too); Bob takes over. Back, she is told, on screen.
    stack.network.cut()
    await see(alice.locator("[data-testid=connection]"), "Reconnecting")
    for _ in range(50):
        view = await call_app(stack, "GET", "/api/rooms?issueKey=DEMO-4", BOB, "DEMO-4")
        if not view["ownerPresent"]:
            break
        await asyncio.sleep(0.2)
    await call_app(stack, "POST", f"/api/rooms/{room['id']}/take-control", BOB, "DEMO-4")
    stack.network.restore()
    await see(alice.locator(".room > .message"), "Bob Brennan took control of the room")
    assert stack.errors == []


async def test_a_settings_error_marks_its_field(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page = await stack.open(ALICE, "DEMO-5")
    alice = room_of(page)
    await alice.get_by_label("Custom numbers").check()
    cards = alice.get_by_label("Your cards")
    await cards.fill("1, 2, x")
    await alice.get_by_role("button", name="Open the room").click()
    error = alice.locator("form.config .message.error")
    await see(error, "“x” is not a number from 0 to 1,000,000.")
    assert "null" not in await error.inner_text()
    assert await cards.get_attribute("aria-invalid") == "true"
    assert await cards.evaluate("element => element === document.activeElement")
    await cards.fill("1, 2, 3")
    assert await cards.get_attribute("aria-invalid") is None
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator(".room-title"), "Round 1")
    assert stack.errors == []
