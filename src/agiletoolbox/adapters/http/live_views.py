"""What each live socket of a room is sent when the room changes.

The room's public view is rendered once per change, next to the one shown before
(`room_json.render`), and each socket is sent what its view needs: what changed since the
version it has (one frame shared by everyone whose own hidden cards did not change, one
made for each whose did: `room_json.changes_of`), or its whole view when it has another
version or is falling behind. A command's answer rides on the message its socket is sent.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import orjson
from attrs import define

from agiletoolbox.adapters.http.live_socket import CLOSE_REMOVED, LiveSocket, text_frame
from agiletoolbox.adapters.http.room_json import (
    Json,
    Rendered,
    changes_of,
    public_json,
    render,
    shares,
    with_own,
)
from agiletoolbox.domain.ids import AccountId
from agiletoolbox.domain.room import Room
from agiletoolbox.domain.view import OwnCards, own_cards, own_cards_of

PATCH_BACKLOG = 8
"""A socket with this many changes still unsent gets its whole view instead of one more."""

Answer = tuple[LiveSocket, object]
"""A socket and the id of the command it sent, which the message it is sent answers."""


@define
class Shown:
    """What this process last showed of a room: the room, its public view rendered, and
    the own cards of those who hold any."""

    room: Room
    public: Rendered
    own: dict[AccountId, OwnCards]

    @property
    def version(self) -> int:
        """The version shown."""
        return self.room.version


def queue(
    group: AbstractSet[LiveSocket], shown: Shown | None, room: Room, answer: Answer | None
) -> tuple[Shown | None, bool]:
    """Queue what each socket of `group` needs to show `room`, given what was shown before;
    returns what is shown now (None: nothing newer) and whether `answer`'s ack went along."""
    if room.removed:
        return None, removed(group, answer)
    version = room.version
    behind = [socket for socket in group if socket.version < version]
    if not behind:
        return None, False  # a stale or duplicate signal, or a change that changed nothing
    public, changed = render(room, shown.public if shown is not None else None)
    own = own_cards_of(room, shown.own if shown is not None else None)
    shared: bytes | None = None  # the change everyone shares, and its frame
    shared_frame = b""
    acked = False
    base = -1 if shown is None else shown.version  # the version shown before (-1: none)
    answering = None if answer is None else answer[0]
    owned = shown.own if shown is not None else {}
    for socket in behind:
        account = socket.caller.account
        # Whether they hold own cards now or before: most sockets are of people who hold
        # none, and share the change with no more asked.
        held = account in own or account in owned
        mine = own.get(account) if held else None
        answered = socket is answering
        if shown is not None and socket.version == base and socket.backlog < PATCH_BACKLOG:
            # The socket has what was shown before (or will, once its queue is sent) and
            # keeps up: it is sent what changed since.
            before = owned.get(account) if held else None
            if not answered and (not held or shares(changed, before, mine)):
                # Nothing of this person's own changed (they hold none, now or before, or
                # the same): the change is everyone's.
                if shared is None:
                    shared = _patch(base, changed)
                    shared_frame = text_frame(shared)
                socket.show(shared, version, whole=False, frame=shared_frame)
                continue
            patch = changes_of(changed, shown.public.json, public.json, account, before, mine)
            message: Json = {"type": "patch", "from": base, "room": patch}
        else:
            message = {"type": "room", "room": with_own(public.json, account, mine)}
        if answered:
            assert answer is not None  # noqa: S101 - `answered` says so
            message["ack"] = answer[1]
            acked = True
        socket.show(orjson.dumps(message), version, whole=message["type"] == "room")
    newer = shown is None or version > base
    return (Shown(room, public, own) if newer else None), acked


def whole_view(socket: LiveSocket, room: Room, ack: object = None) -> bytes:
    """The message that shows the socket its whole view of `room` (answering `ack`)."""
    account = socket.caller.account
    message: Json = {
        "type": "room",
        "room": with_own(public_json(room), account, own_cards(room, account)),
    }
    if ack is not None:
        message["ack"] = ack
    return orjson.dumps(message)


def removed(group: AbstractSet[LiveSocket], answer: Answer | None) -> bool:
    """Tell every socket the room is gone, and close it; whether `answer` was acked."""
    for socket in list(group):
        if answer is not None and socket is answer[0]:
            socket.reply({"type": "ack", "id": answer[1]})
        socket.reply({"type": "removed"})
        socket.close_soon(CLOSE_REMOVED)
    return answer is not None and answer[0] in group


def _patch(base: int, room: Json) -> bytes:
    return orjson.dumps({"type": "patch", "from": base, "room": room})
