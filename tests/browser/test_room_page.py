"""Three teammates estimate an issue in real browsers, through the simulated Jira."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from agiletoolbox.simulator import ALICE, BOB, CHITRA, STORY_POINTS_FIELD
from agiletoolbox.simulator.people import avatar_urls
from tests.browser.conftest import SITE, Stack
from tests.livekit import apply_changes

pytestmark = pytest.mark.postgres

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "room-revealed.png"
TIMEOUT = 15_000


async def see(locator: Any, text: str | re.Pattern[str]) -> None:
    from playwright.async_api import expect

    await expect(locator).to_contain_text(text, timeout=TIMEOUT)


async def visible(locator: Any) -> None:
    from playwright.async_api import expect

    await expect(locator).to_be_visible(timeout=TIMEOUT)


def personal_data(stack: Stack) -> list[str]:
    """Every name, e-mail and avatar URL of the site's people."""
    site = stack.jira.site(SITE)
    found: list[str] = []
    for user in site.users.values():
        found.append(user.display_name)
        if user.email:
            found.append(user.email)
        found.extend(avatar_urls(site.origin, user.account_id).values())
    found.append("/avatars/")
    return found


def views_received(frames: list[str]) -> list[dict[str, Any]]:
    """Every view a page held: whole views as received, patches applied as the page does."""
    views: list[dict[str, Any]] = []
    for frame in frames:
        message = json.loads(frame)
        if message.get("type") == "room":
            views.append(message["room"])
        elif message.get("type") == "patch":
            assert views, "a patch before any whole view"
            assert views[-1]["version"] == message["from"], "a patch that does not fit"
            views.append(apply_changes(views[-1], message["room"]))
    return views


async def test_three_teammates_estimate_an_issue(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    alice_page = await stack.open(ALICE)
    bob_page = await stack.open(BOB)
    chitra_page = await stack.open(CHITRA, width=420)
    alice, bob, chitra = room_of(alice_page), room_of(bob_page), room_of(chitra_page)
    bob_received: list[str] = []
    bob_page.on(
        "websocket", lambda ws: ws.on("framereceived", lambda p: bob_received.append(str(p)))
    )

    # Alice is first: she sets the room up. The field list comes from Jira's editmeta.
    await see(alice.locator("form.config"), "Set up planning poker for DEMO-1")
    field = alice.get_by_label("Write the agreed estimate to")
    await see(field, "Story point estimate · Number")
    assert await field.input_value() == STORY_POINTS_FIELD
    await alice.get_by_label("Fibonacci", exact=True).check()
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator(".room-title"), "Round 1")

    # Bob and Chitra were looking at the form: they land in Alice's room and join.
    await see(bob.locator(".message"), "A teammate opened this room")
    await bob.get_by_role("button", name="Join as voter").click()
    await chitra.get_by_role("button", name="Join as voter").click()
    await see(alice.locator(".team"), "Chitra Raman")
    await see(alice.locator(".team"), "Bob Brennan")

    # Votes are secret: Bob sees that Alice voted, not what.
    await alice.locator('.deck .card[data-card="5"]').click()
    await bob.locator('.deck .card[data-card="13"]').click()
    await bob.locator('.deck .card[data-card="5"]').click()
    alice_row = bob.locator(f'.member[data-account="{ALICE}"]')
    await visible(alice_row.locator(".mini-card.back"))
    assert "5" not in await alice_row.locator(".mini-card").inner_text()
    await see(alice.locator(".team .count"), "2 of 3 voted")
    await see(bob.locator(".deck .card[aria-pressed=true]"), "5")
    # Alice's card stays hers on her page: Bob's votes reach her in the frame that
    # everyone whose own card did not change shares, which leaves hers alone.
    await see(alice.locator(".deck .card[aria-pressed=true]"), "5")
    await see(alice.locator(f'.member[data-account="{ALICE}"] .mini-card'), "5")

    # The network drops; Chitra votes while it is down, and her vote is not lost.
    stack.network.cut()
    await see(chitra.locator("[data-testid=connection]"), "Reconnecting")
    await chitra.locator('.deck .card[data-card="21"]').click()
    await see(chitra.locator(".deck-section .hint"), "goes out when the connection is back")
    stack.network.restore()
    for room in (alice, bob, chitra):
        await see(room.locator("[data-testid=connection]"), "Live")
    await see(alice.locator(".team .count"), "3 of 3 voted")
    assert stack.network.cuts == 1

    # No view Bob received before the reveal carried another voter's card (most came as
    # patches: what changed since the view before).
    assert any(json.loads(frame).get("type") == "patch" for frame in bob_received)
    for view in views_received(bob_received):
        if view["state"] == "voting":
            assert all(p["card"] is None for p in view["participants"] if p["accountId"] != BOB)

    # Alice reveals; everyone reads the same results.
    await alice.get_by_role("button", name="Reveal cards").click()
    for room in (alice, bob, chitra):
        await see(room.locator(".results"), "Results")
    results = alice.locator(".results")
    await see(results.locator("[data-stat=mean] dd"), "10.33")
    await see(results.locator("[data-stat=median] dd"), "5")
    await see(results.locator("[data-stat=mode] dd"), "5")
    await see(results.locator("[data-stat=agreement] dd"), "67%")
    await see(results.locator("[data-stat=spread] dd"), "5 \u2013 21")
    await see(results.locator("[data-stat=closest] dd"), "8")
    await visible(alice.locator(f'.member.is-outlier[data-account="{CHITRA}"]'))
    await see(results.locator(".outliers"), "Chitra Raman (21)")
    await see(bob.locator(f'.member[data-account="{ALICE}"] .mini-card.face'), "5")
    # Two of three said 5: the majority card is suggested, not the card nearest the mean.
    await see(alice.locator("[data-testid=suggested]"), "Suggested: 5 (most common)")
    estimate = alice.get_by_label("Agreed estimate")
    assert await estimate.input_value() == "5"
    await alice_page.wait_for_timeout(300)
    SCREENSHOT.parent.mkdir(exist_ok=True)
    # From the top: a page scrolled when focus moved would draw its sticky bar mid-page.
    await alice_page.evaluate("window.scrollTo(0, 0)")
    await alice_page.screenshot(path=str(SCREENSHOT), full_page=True)

    # Alice takes the suggestion, and writes it to Jira.
    await alice.get_by_role("button", name="Write to Story point estimate").click()
    await see(alice.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    assert stack.jira.field_value(SITE, "DEMO-1", STORY_POINTS_FIELD) == 5
    await see(bob.locator("[data-testid=estimate-written]"), "5 is in Story point estimate")
    await see(alice_page.locator('[data-field="customfield_10016"]'), "5")

    # A new round; the first one goes to the history.
    await alice.get_by_role("button", name="New round").click()
    await see(bob.locator(".room-title"), "Round 2")
    await see(bob.locator(".history"), "Round 1 · 3 votes · mode 5 · estimate 5")

    # Chitra only watches from now on.
    await chitra.get_by_role("button", name="Watch without voting").click()
    await see(alice.locator(f'.member[data-account="{CHITRA}"]'), "Observer")
    await see(chitra.locator(".deck-section"), "You are observing")
    await see(alice.locator(".team .count"), "0 of 2 voted")

    # Alice removes the room: the confirmation says what goes.
    await alice.get_by_role("button", name="More actions").click()
    await alice.get_by_role("menuitem", name="Remove room…").click()
    dialog = alice.get_by_role("alertdialog")
    await see(dialog, "its 3 members")
    await see(dialog, "every vote of all 2 rounds")
    await see(dialog, "What was written to Story point estimate stays in Jira")
    await dialog.get_by_role("button", name="Remove room").click()
    await see(alice.locator(".empty"), "were removed")
    await see(bob.locator(".empty"), "The owner removed the room of DEMO-1")

    # Nothing personal ever went to the app: no name, e-mail or avatar.
    sent = await stack.traffic.texts()
    assert stack.traffic.requests, "the pages talked to the app"
    assert stack.traffic.frames, "the pages used the live socket"
    leaks = [(item, secret) for item in sent for secret in personal_data(stack) if secret in item]
    assert leaks == []
    assert stack.jira.recorder.names_served_to_app() == []
    assert stack.errors == []


async def test_a_refused_write_says_what_to_do(stack: Stack, room_of: Callable[[Any], Any]) -> None:
    alice_page = await stack.open(ALICE, "DEMO-2")
    alice = room_of(alice_page)
    await alice.get_by_label("T-shirt sizes").check()
    await see(alice.locator(".value-map"), "Numbers written to Story point estimate")
    await alice.get_by_label("M", exact=True).fill("4")
    await alice.get_by_label("Save as my default for this project and issue type").check()
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator(".message"), "these settings are your default now")
    await alice.locator('.deck .card[data-card="M"]').click()
    await see(alice.locator(".team .count"), "1 of 1 voted")
    await alice.get_by_role("button", name="Reveal cards").click()
    await see(alice.locator("#estimate-hint"), "M is written as 4")

    # Someone takes the field off the issue's edit screen: Jira refuses the estimate.
    stack.jira.faults(SITE).off_screen.add(STORY_POINTS_FIELD)
    await alice.get_by_role("button", name="Write to Story point estimate").click()
    error = alice.locator("[data-testid=estimate-error]")
    await see(error, "is not on the edit screen of DEMO-2")
    await visible(error.get_by_role("button", name="Choose another field"))

    # Back on screen, the same estimate goes through: the number the owner mapped.
    stack.jira.faults(SITE).off_screen.clear()
    await alice.get_by_label("Agreed estimate").fill("M")
    await alice.get_by_role("button", name="Write to Story point estimate").click()
    await see(alice.locator("[data-testid=estimate-written]"), "Jira confirmed it")
    assert stack.jira.field_value(SITE, "DEMO-2", STORY_POINTS_FIELD) == 4

    # The saved default fills in the form of the next issue of the project.
    other = room_of(await stack.open(ALICE, "DEMO-3"))
    await see(other.locator(".config"), "Filled in from your saved default")
    assert await other.get_by_label("T-shirt sizes").is_checked()
    assert stack.errors == []


async def test_a_teammate_takes_control_when_the_owner_is_away(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    alice_page = await stack.open(ALICE, "DEMO-4")
    alice = room_of(alice_page)
    await alice.get_by_role("button", name="Open the room").click()
    await see(alice.locator(".room-title"), "Round 1")
    bob = room_of(await stack.open(BOB, "DEMO-4"))
    await bob.get_by_role("button", name="Join as observer").click()
    await see(bob.locator(".controls"), "Waiting for Alice Andersen to reveal the cards")

    await alice_page.context.close()
    await see(bob.locator(".controls"), "Alice Andersen is not in the room")
    await bob.get_by_role("button", name="Take control").click()
    await see(bob.locator(f'.member[data-account="{BOB}"]'), "Owner")
    await visible(bob.get_by_role("button", name="Reveal cards"))
    assert stack.errors == []


async def test_the_room_works_from_the_keyboard(
    stack: Stack, room_of: Callable[[Any], Any]
) -> None:
    page = await stack.open(ALICE, "DEMO-5")
    room = room_of(page)
    await room.get_by_role("button", name="Open the room").focus()
    await page.keyboard.press("Enter")
    deck = room.get_by_role("group", name="Your card")
    await deck.locator(".card").first.focus()
    for key in ("ArrowRight", "ArrowRight", "Enter"):
        await page.keyboard.press(key)
    chosen = deck.locator('.card[data-card="2"]')
    await see(room.locator(".team .count"), "1 of 1 voted")
    assert await chosen.get_attribute("aria-pressed") == "true"
    assert await deck.locator(".card:focus").get_attribute("data-card") == "2"
    await page.keyboard.press("Space")
    await see(room.locator(".team .count"), "0 of 1 voted")
    assert await chosen.get_attribute("aria-pressed") == "false"
    await see(room.locator("#announcer"), "You took back 2.")
    assert stack.errors == []
