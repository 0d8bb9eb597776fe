"""Ids are checked once, where they are made: well-formed values round-trip, others are refused."""

from __future__ import annotations

import copy
import pickle
import string
import sys
from collections.abc import Callable
from types import FrameType
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import (
    AccountId,
    FieldId,
    IssueKey,
    IssueTypeId,
    ProjectKey,
    RoomId,
    TenantKey,
)

IdClass = type[AccountId] | type[FieldId] | type[IssueKey] | type[RoomId] | type[TenantKey]

# Every character Python counts as whitespace: none may be part of an account id.
WHITESPACE = "".join(chr(code) for code in range(0x3001) if chr(code).isspace())

project_keys = st.from_regex(r"[A-Z][A-Z0-9_]{0,20}", fullmatch=True)
issue_numbers = st.integers(1, 10**12)
issue_keys = st.builds(lambda project, number: f"{project}-{number}", project_keys, issue_numbers)
# Account ids are printable ASCII without spaces: what Atlassian issues and PostgreSQL holds.
PRINTABLE = "".join(chr(code) for code in range(0x21, 0x7F))
account_ids = st.text(alphabet=PRINTABLE, min_size=1, max_size=128)
custom_field_ids = st.integers(1, 10**18 - 1).map(lambda n: f"customfield_{n}")
system_field_ids = st.from_regex(r"[a-z][a-zA-Z0-9]{0,63}", fullmatch=True)
room_ids = st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=16, max_size=64)
tenant_keys = st.text(
    alphabet=string.ascii_letters + string.digits + ":._/-", min_size=1, max_size=255
)


def refused(kind: IdClass, value: Any) -> bool:
    """Whether making the id of `value` raises InvalidValue."""
    try:
        kind(value)
    except InvalidValue:
        return True
    return False


# -- well-formed ids round-trip ------------------------------------------------------------


@given(issue_keys)
def test_issue_keys_round_trip(text: str) -> None:
    key = IssueKey(text)
    assert key.value == str(key) == text
    assert key == IssueKey(text)
    assert hash(key) == hash(IssueKey(text))


@given(project_keys, issue_numbers)
def test_an_issue_key_knows_its_project(project: str, number: int) -> None:
    key = IssueKey(f"{project}-{number}")
    assert key.project == ProjectKey(project)
    assert f"{key.project}-{number}" == str(key)


@given(account_ids)
def test_account_ids_round_trip(text: str) -> None:
    account = AccountId(text)
    assert account.value == str(account) == text
    assert account == AccountId(text)


@given(custom_field_ids | system_field_ids)
def test_field_ids_round_trip(text: str) -> None:
    field = FieldId(text)
    assert field.value == str(field) == text


@given(room_ids)
def test_room_ids_round_trip(text: str) -> None:
    room = RoomId(text)
    assert room.value == str(room) == text


@given(tenant_keys)
def test_tenant_keys_round_trip(text: str) -> None:
    assert str(TenantKey(text)) == text


@given(st.integers(1, 10**18 - 1))
def test_issue_type_ids_round_trip(number: int) -> None:
    assert str(IssueTypeId(str(number))) == str(number)


@given(st.lists(account_ids, min_size=2, max_size=5, unique=True))
def test_account_ids_order_like_their_text(texts: list[str]) -> None:
    assert sorted(AccountId(text) for text in texts) == [AccountId(t) for t in sorted(texts)]


def test_generated_room_ids_are_valid_and_distinct() -> None:
    generated = [RoomId.generate() for _ in range(2000)]
    assert len(set(generated)) == len(generated)
    for room in generated:
        assert RoomId(room.value) == room
        # 16 random bytes, base64url without padding.
        assert len(room.value) == 22


# -- malformed ids are refused -------------------------------------------------------------


@given(account_ids, st.sampled_from(WHITESPACE), st.integers(0, 128))
def test_account_ids_with_whitespace_are_refused(text: str, space: str, at: int) -> None:
    text = text[:127]
    at = min(at, len(text))
    assert refused(AccountId, text[:at] + space + text[at:])


@given(st.text(alphabet=PRINTABLE, min_size=129))
def test_account_ids_longer_than_128_characters_are_refused(text: str) -> None:
    assert refused(AccountId, text)


@given(
    account_ids,
    st.characters(exclude_characters=PRINTABLE),
    st.integers(0, 128),
)
def test_account_ids_with_control_or_non_ascii_characters_are_refused(
    text: str, odd: str, at: int
) -> None:
    text = text[:127]
    at = min(at, len(text))
    assert refused(AccountId, text[:at] + odd + text[at:])


@given(st.text(alphabet=WHITESPACE, max_size=4))
def test_blank_account_ids_are_refused(text: str) -> None:
    assert refused(AccountId, text)


@given(issue_keys)
def test_lowercase_issue_keys_are_refused(text: str) -> None:
    lowered = text.lower()
    assert lowered != text
    assert refused(IssueKey, lowered)


@given(project_keys, st.integers(0, 10**6), st.integers(1, 3))
def test_issue_numbers_with_leading_zeros_are_refused(
    project: str, number: int, zeros: int
) -> None:
    assert refused(IssueKey, f"{project}-{'0' * zeros}{number}")
    assert refused(IssueKey, f"{project}-{'0' * zeros}")


@given(issue_keys, st.sampled_from([" ", "\n", "\t", "-", "_", "x", "é", "\uff11"]), st.booleans())
def test_issue_keys_with_stray_characters_are_refused(text: str, stray: str, front: bool) -> None:
    assert refused(IssueKey, stray + text if front else text + stray)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "DEMO",
        "DEMO-",
        "-1",
        "1DEMO-1",
        "_DEMO-1",
        "DEMO-0",
        "DEMO-01",
        "DEMO--1",
        "DEMO-1-2",
        "DEMO-1.5",
        "DEMO-+1",
        "demo-1",
        "Demo-1",
        "DEMO 1",
        "DEMO-\u0661",  # an Arabic-Indic digit is a digit, but not one of ours
        "ÄRGER-1",
        "DEMO-1\n",
    ],
)
def test_malformed_issue_keys_are_refused(text: str) -> None:
    assert refused(IssueKey, text)


def test_issue_keys_longer_than_255_characters_are_refused() -> None:
    assert IssueKey("A" * 253 + "-1").value
    assert refused(IssueKey, "A" * 254 + "-1")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "customfield_",
        "customfield_0",
        "customfield_01",
        "customfield_-1",
        "customfield_1x",
        "customfield_" + "1" * 19,
        "Customfield_1",
        "story points",
        "StoryPoints",
        "1field",
        "time_tracking",
        "a" * 65,
        "summary\n",
    ],
)
def test_malformed_field_ids_are_refused(text: str) -> None:
    assert refused(FieldId, text)


@given(st.text(alphabet=string.ascii_letters + string.digits + "_-", max_size=15))
def test_short_room_ids_are_refused(text: str) -> None:
    assert refused(RoomId, text)


@given(st.text(alphabet=string.ascii_letters + string.digits + "_-", min_size=65, max_size=80))
def test_long_room_ids_are_refused(text: str) -> None:
    assert refused(RoomId, text)


@given(room_ids, st.sampled_from(["=", "+", "/", " ", ".", "é"]), st.integers(0, 63))
def test_room_ids_outside_base64url_are_refused(text: str, stray: str, at: int) -> None:
    at = min(at, len(text) - 1)
    assert refused(RoomId, text[:at] + stray + text[at + 1 :])


@pytest.mark.parametrize("kind", [AccountId, FieldId, IssueKey, RoomId, TenantKey])
@pytest.mark.parametrize("value", [None, 7, b"DEMO-1", ["DEMO-1"]])
def test_ids_are_made_of_text_only(kind: IdClass, value: object) -> None:
    assert refused(kind, value)


@given(st.text(alphabet=string.ascii_letters + string.digits + ":._/-", min_size=256, max_size=300))
def test_tenant_keys_longer_than_255_characters_are_refused(text: str) -> None:
    assert refused(TenantKey, text)


# -- ids are text of their own type --------------------------------------------------------


def _python_calls(run: Callable[[], object]) -> int:
    """How many Python functions `run` enters (itself excluded)."""
    calls = 0

    def count(_frame: FrameType, event: str, _arg: object) -> None:
        nonlocal calls
        if event == "call":
            calls += 1

    sys.setprofile(count)
    try:
        run()
    finally:
        sys.setprofile(None)
    return calls - 1  # `run` itself


def test_an_id_is_hashed_and_compared_with_no_python_call() -> None:
    # Rooms, votes and sockets are looked up by ids on every change: each lookup keyed by
    # an id of a class of our own would be a Python call (two for a (tenant, room) key).
    tenant, room = TenantKey("jira:1"), RoomId("r" * 22)
    account = AccountId("557058:abc")
    rooms = {(tenant, room): 1}
    votes = {account: "5"}
    same_tenant, same_room = TenantKey("jira:1"), RoomId("r" * 22)  # equal, not the same
    same_account = AccountId("557058:abc")

    def look_up() -> object:
        return rooms[(same_tenant, same_room)], votes[same_account], sorted([account, account])

    assert look_up() == (1, "5", [account, account])
    assert _python_calls(look_up) == 0


@given(account_ids)
def test_an_id_is_immutable_text_with_its_kind_in_its_repr(text: str) -> None:
    account = AccountId(text)
    assert isinstance(account, str)
    assert type(account.value) is str
    assert type(str(account)) is str
    assert repr(account) == f"AccountId(value={text!r})"
    with pytest.raises(AttributeError):
        account.value = "other"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        account.extra = 1  # type: ignore[attr-defined]
    again = pickle.loads(pickle.dumps(account))  # noqa: S301 - our own bytes
    assert type(again) is AccountId
    assert again == account
    assert copy.copy(account) == account


def test_ids_are_made_only_through_their_check() -> None:
    # Methods of `str` return plain text, never an unchecked id.
    key = IssueKey("DEMO-1")
    assert type(key.lower()) is str
    assert type(key + "0") is str
    assert type(key[:4]) is str
    assert refused(IssueKey, key.lower())
