"""Sealed messages between region deployments: only the peer key opens them, unaltered,
for the purpose and the time they were sealed for."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agiletoolbox.adapters.region.envelope import (
    MAX_AGE,
    EnvelopeRefused,
    Sealer,
    answer_purpose,
)

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
KEY = "a-peer-key-of-at-least-thirty-two-characters"
PAYLOAD = {"op": "stage", "tenant": "client-key-1", "bundle": "c2VjcmV0"}


def test_a_sealed_message_opens_with_the_same_key() -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    assert Sealer(KEY).open("request", sealed, now=NOW + timedelta(seconds=3)) == PAYLOAD


def test_the_payload_cannot_be_read_on_the_way() -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    assert b"client-key-1" not in base64.b64decode(sealed["data"])
    assert "client-key-1" not in str(sealed)


def test_another_key_does_not_open_it() -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    with pytest.raises(EnvelopeRefused):
        Sealer(KEY + "x").open("request", sealed, now=NOW)


def test_an_answer_is_bound_to_its_request() -> None:
    sealer = Sealer(KEY)
    first = sealer.seal("request", PAYLOAD, now=NOW)
    second = sealer.seal("request", PAYLOAD, now=NOW)
    answer = sealer.seal(answer_purpose(first), {"ok": True}, now=NOW)
    assert sealer.open(answer_purpose(first), answer, now=NOW) == {"ok": True}
    with pytest.raises(EnvelopeRefused):
        sealer.open(answer_purpose(second), answer, now=NOW)
    with pytest.raises(EnvelopeRefused):
        sealer.open("request", answer, now=NOW)


@pytest.mark.parametrize("drift", [MAX_AGE + timedelta(seconds=1), -MAX_AGE - timedelta(seconds=1)])
def test_stale_or_future_messages_are_refused(drift: timedelta) -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    with pytest.raises(EnvelopeRefused):
        Sealer(KEY).open("request", sealed, now=NOW + drift)


def test_a_changed_time_does_not_open() -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    sealed["sentAt"] = (NOW + timedelta(seconds=1)).isoformat()
    with pytest.raises(EnvelopeRefused):
        Sealer(KEY).open("request", sealed, now=NOW)


@given(position=st.integers(min_value=0), bit=st.integers(min_value=0, max_value=7))
def test_any_flipped_bit_is_refused(position: int, bit: int) -> None:
    sealed = Sealer(KEY).seal("request", PAYLOAD, now=NOW)
    data = bytearray(base64.b64decode(sealed["data"]))
    data[position % len(data)] ^= 1 << bit
    sealed["data"] = base64.b64encode(bytes(data)).decode()
    with pytest.raises(EnvelopeRefused):
        Sealer(KEY).open("request", sealed, now=NOW)


@pytest.mark.parametrize(
    "envelope",
    [
        None,
        [],
        {},
        {"v": 2, "sentAt": NOW.isoformat(), "nonce": "", "data": ""},
        {"v": 1, "sentAt": "yesterday", "nonce": "AAAA", "data": "AAAA"},
        {"v": 1, "sentAt": "2026-11-27T01:00:00", "nonce": "AAAA", "data": "AAAA"},
        {"v": 1, "sentAt": NOW.isoformat(), "nonce": "!!", "data": "AAAA"},
        {"v": 1, "sentAt": NOW.isoformat(), "nonce": "AAAA", "data": "AAAA"},
        {"v": 1, "sentAt": NOW.isoformat(), "nonce": 5, "data": "AAAA"},
    ],
)
def test_malformed_envelopes_are_refused(envelope: object) -> None:
    with pytest.raises(EnvelopeRefused):
        Sealer(KEY).open("request", envelope, now=NOW)
