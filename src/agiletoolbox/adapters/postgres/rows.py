"""Rows to domain objects and back: the one converter at the database edge.

Configurations and decks are stored as JSON (`jsonb`) written by a private cattrs
converter; everything else is a column. A room is read in one query (its row plus its
participants, votes and history as arrays) and comes back as a `StoredRoom`: the room and
a snapshot of what the database holds, from which a save computes what changed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import asyncpg
from attrs import frozen
from cattrs.preconf.json import make_converter

from agiletoolbox.domain.config import Participant, Role, RoomConfig
from agiletoolbox.domain.deck import Deck
from agiletoolbox.domain.estimate import CommentState, Estimate, EstimateValue
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, RoomId, TenantKey
from agiletoolbox.domain.room import Room, RoundRecord, RoundTimer
from agiletoolbox.domain.standing import Region, TenantStanding, TenantState

_rows = make_converter()
_rows.register_unstructure_hook(FieldId, str)
_rows.register_structure_hook(FieldId, lambda value, _: FieldId(value))

Json = dict[str, Any]


def config_to_json(config: RoomConfig) -> Json:
    """A room configuration as stored."""
    stored: Json = _rows.unstructure(config)
    return stored


def config_from_json(stored: Json) -> RoomConfig:
    """A stored room configuration."""
    return _rows.structure(stored, RoomConfig)


def config_text(config: RoomConfig) -> str:
    """A room configuration as JSON text (written only when it changed)."""
    return _dumps(config_to_json(config))


# Every process holding a socket of a room reads it again after each change made elsewhere,
# and the configurations and decks it reads repeat: structuring each distinct one (JSON,
# cattrs, the deck's validators) once takes half or more of the CPU of that read off it
# (`benchmarks/reads.py`: 60 against 116 us per room read, 166 against 422 with five
# finished rounds).
@lru_cache(maxsize=4096)
def config_from_text(text: str) -> RoomConfig:
    """A room configuration from its JSON text."""
    return config_from_json(json.loads(text))


def deck_text(deck: Deck) -> str:
    """A deck, as stored with a finished round, as JSON text."""
    return _dumps(_rows.unstructure(deck))


@lru_cache(maxsize=1024)
def deck_from_text(text: str) -> Deck:
    """A stored deck from its JSON text."""
    return _rows.structure(json.loads(text), Deck)


def _dumps(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _account(value: str | None) -> AccountId | None:
    return None if value is None else AccountId(value)


@frozen
class Snapshot:
    """What the database held for a room when this unit of work read it."""

    version: int
    columns: Sequence[object]
    config: RoomConfig | None
    participants: Mapping[AccountId, Participant]
    votes: Mapping[AccountId, str]
    history: Sequence[RoundRecord]
    adopted: bool = False
    """Taken as a process saw the room committed, not read with its tenant's standing: its
    save checks that the site may be served."""

    @classmethod
    def empty(cls) -> Snapshot:
        """Nothing stored yet (a room being added)."""
        return cls(version=0, columns=(), config=None, participants={}, votes={}, history=())

    @classmethod
    def of(cls, room: Room, *, adopted: bool = False) -> Snapshot:
        """The state of `room` as just read, or adopted (a room's collections are never
        changed in place: a change replaces them, so the snapshot holds them as they are)."""
        return cls(
            room.version,
            room_columns(room),
            room.config,
            room.participants,
            room.votes,
            room.history,
            adopted,
        )


def _estimate(row: asyncpg.Record) -> Estimate | None:
    if row["estimate_label"] is None:
        return None
    return Estimate(
        value=EstimateValue(row["estimate_label"], row["estimate_number"]),
        field_id=FieldId(row["estimate_field_id"]),
        round=row["estimate_round"],
        accepted_by=_account(row["estimate_accepted_by"]),
        accepted_at=row["estimate_accepted_at"],
        written=row["estimate_written"],
        comment=None if row["estimate_comment"] is None else CommentState(row["estimate_comment"]),
        comment_at=row["estimate_comment_at"],
    )


def _timer(row: asyncpg.Record) -> RoundTimer | None:
    if row["timer_round"] is None:
        return None
    return RoundTimer(row["timer_round"], row["timer_started_at"], row["timer_ends_at"])


def _array(row: asyncpg.Record, name: str) -> list[Any]:
    # array_agg over no rows is NULL, not an empty array.
    values: list[Any] | None = row[name]
    return [] if values is None else values


def _participants(row: asyncpg.Record) -> dict[AccountId, Participant]:
    people = (
        Participant(AccountId(account), Role(role), online, joined_at)
        for account, role, online, joined_at in zip(
            _array(row, "p_accounts"),
            _array(row, "p_roles"),
            _array(row, "p_online"),
            _array(row, "p_joined"),
            strict=True,
        )
    )
    return {person.account_id: person for person in people}


def _history(row: asyncpg.Record) -> tuple[RoundRecord, ...]:
    columns = zip(
        _array(row, "h_numbers"),
        _array(row, "h_decks"),
        _array(row, "h_revealed"),
        _array(row, "h_started"),
        _array(row, "h_ended"),
        _array(row, "h_labels"),
        _array(row, "h_values"),
        _array(row, "h_votes"),
        strict=True,
    )
    return tuple(
        RoundRecord(
            number=number,
            deck=deck_from_text(deck),
            votes=tuple((AccountId(who), label) for who, label in votes),
            revealed=revealed,
            started_at=started,
            ended_at=ended,
            estimate=None if label is None else EstimateValue(label, value),
        )
        for number, deck, revealed, started, ended, label, value, votes in columns
    )


@frozen
class StoredRoom:
    """A room read from the database, with the snapshot its save is compared against."""

    room: Room
    snapshot: Snapshot

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> StoredRoom:
        """The room of one row of the room query (see `rooms.py`)."""
        room = Room(
            tenant=TenantKey(row["tenant_key"]),
            id=RoomId(row["room_id"]),
            issue_key=IssueKey(row["issue_key"]),
            owner=_account(row["owner"]),
            config=config_from_text(row["config"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            participants=_participants(row),
            round=row["round"],
            round_started_at=row["round_started_at"],
            votes={
                AccountId(who): label
                for who, label in zip(
                    _array(row, "v_accounts"), _array(row, "v_labels"), strict=True
                )
            },
            revealed=row["revealed"],
            history=_history(row),
            estimate=_estimate(row),
            timer=_timer(row),
            version=row["version"],
        )
        return cls(room, Snapshot.of(room))


def standing_of(state: str, moving_to: str | None) -> TenantStanding:
    """A tenant's standing from its `state` and `moving_to` columns."""
    return TenantStanding(TenantState(state), None if moving_to is None else Region(moving_to))


def room_columns(room: Room) -> list[object]:
    """The values of the room row, in the order of `room_sql.COLUMNS`; the configuration as
    the object (`config_text` makes its JSON for a write)."""
    estimate = room.estimate
    return [
        room.tenant.value,
        room.id.value,
        room.issue_key.value,
        None if room.owner is None else room.owner.value,
        room.config,
        room.round,
        room.round_started_at,
        room.revealed,
        None if estimate is None else estimate.value.label,
        None if estimate is None else estimate.value.number,
        None if estimate is None else estimate.field_id.value,
        None if estimate is None else estimate.round,
        None if estimate is None or estimate.accepted_by is None else estimate.accepted_by.value,
        None if estimate is None else estimate.accepted_at,
        None if estimate is None else estimate.written,
        None if estimate is None or estimate.comment is None else estimate.comment.value,
        None if estimate is None else estimate.comment_at,
        None if room.timer is None else room.timer.round,
        None if room.timer is None else room.timer.started_at,
        None if room.timer is None else room.timer.ends_at,
        room.version,
        room.created_at,
        room.updated_at,
    ]


def changes(room: Room, before: Snapshot) -> dict[str, list[list[Any]]]:
    """What differs from the snapshot: the arrays of each part of the save that has work.

    Keys are the part names of `room_sql.PARTS`; a part with nothing to write is absent.
    """
    parts: dict[str, list[list[Any]]] = {}
    # What a change leaves alone is the very object that was read: `is` settles most (a
    # room's collections are replaced, never changed in place).
    if room.participants is not before.participants:
        _participant_changes(room.participants, before.participants, parts)
    if room.votes is not before.votes:
        if gone := [who.value for who in before.votes if who not in room.votes]:
            parts["gone_votes"] = [gone]
        if votes := [
            (w.value, label) for w, label in room.votes.items() if before.votes.get(w) != label
        ]:
            parts["put_votes"] = [[who for who, _ in votes], [label for _, label in votes]]
    if room.history is not before.history and (room.history or before.history):
        parts.update(_round_changes(room.history, before.history))
    return parts


def _participant_changes(
    people: Mapping[AccountId, Participant],
    before: Mapping[AccountId, Participant],
    parts: dict[str, list[list[Any]]],
) -> None:
    """The parts of `changes` that participants need, put in `parts`."""
    changed = [p for who, p in people.items() if (was := before.get(who)) is not p and was != p]
    if gone := [who.value for who in before if who not in people]:
        parts["gone_participants"] = [gone]
    if changed:
        parts["put_participants"] = [
            [p.account_id.value for p in changed],
            [p.role.value for p in changed],
            [p.online for p in changed],
            [p.joined_at for p in changed],
        ]


def _round_changes(
    history: Sequence[RoundRecord], before: Sequence[RoundRecord]
) -> dict[str, list[list[Any]]]:
    """The parts of `changes` that finished rounds and their votes need."""
    parts: dict[str, list[list[Any]]] = {}
    old_rounds = {record.number: record for record in before}
    new_numbers = {record.number for record in history}
    rounds = [r for r in history if (had := old_rounds.get(r.number)) is not r and had != r]
    if gone := [number for number in old_rounds if number not in new_numbers]:
        parts["gone_rounds"] = [gone]
    if not rounds:
        return parts
    parts["put_rounds"] = [
        [r.number for r in rounds],
        [deck_text(r.deck) for r in rounds],
        [r.revealed for r in rounds],
        [r.started_at for r in rounds],
        [r.ended_at for r in rounds],
        [None if r.estimate is None else r.estimate.label for r in rounds],
        [None if r.estimate is None else r.estimate.number for r in rounds],
    ]
    gone_round_votes: list[tuple[int, str]] = []
    round_votes: list[tuple[int, str, str, int]] = []
    for record in rounds:
        old = old_rounds.get(record.number)
        kept = {who for who, _ in record.votes}
        if old is not None:
            gone_round_votes += [(old.number, w.value) for w, _ in old.votes if w not in kept]
        round_votes += [
            (record.number, who.value, label, position)
            for position, (who, label) in enumerate(record.votes)
        ]
    if gone_round_votes:
        parts["gone_round_votes"] = [
            [number for number, _ in gone_round_votes],
            [who for _, who in gone_round_votes],
        ]
    if round_votes:
        parts["put_round_votes"] = [
            [number for number, _, _, _ in round_votes],
            [who for _, who, _, _ in round_votes],
            [label for _, _, label, _ in round_votes],
            [position for _, _, _, position in round_votes],
        ]
    return parts
