"""The SQL of rooms: read whole in one query, written in one statement per save."""

from __future__ import annotations

from functools import lru_cache

CHANNEL = "agiletoolbox_rooms"
"""The one channel every process listens on; payload `{"t": tenant, "r": room, "v": n}`."""


_ORDER = "ORDER BY joined_at, account_id"
_ROOM_QUERY = f"""
SELECT r.tenant_key, r.room_id, r.issue_key, r.owner, r.config::text AS config, r.round,
       r.round_started_at, r.revealed, r.estimate_label, r.estimate_number,
       r.estimate_field_id, r.estimate_round, r.estimate_accepted_by, r.estimate_accepted_at,
       r.estimate_written, r.estimate_comment, r.estimate_comment_at, r.timer_round,
       r.timer_started_at, r.timer_ends_at, r.version,
       r.created_at, r.updated_at, p.*, v.*, h.*,
       t.state AS t_state, t.moving_to AS t_moving_to
FROM rooms AS r
JOIN tenants AS t ON t.tenant_key = r.tenant_key
CROSS JOIN LATERAL (
    SELECT array_agg(account_id {_ORDER}) AS p_accounts, array_agg(role {_ORDER}) AS p_roles,
           array_agg(online {_ORDER}) AS p_online, array_agg(joined_at {_ORDER}) AS p_joined
    FROM participants
    WHERE tenant_key = r.tenant_key AND room_id = r.room_id
) AS p
CROSS JOIN LATERAL (
    SELECT array_agg(account_id ORDER BY account_id) AS v_accounts,
           array_agg(label ORDER BY account_id) AS v_labels
    FROM votes
    WHERE tenant_key = r.tenant_key AND room_id = r.room_id
) AS v
CROSS JOIN LATERAL (
    SELECT array_agg(o.number ORDER BY o.number) AS h_numbers,
           array_agg(o.deck::text ORDER BY o.number) AS h_decks,
           array_agg(o.revealed ORDER BY o.number) AS h_revealed,
           array_agg(o.started_at ORDER BY o.number) AS h_started,
           array_agg(o.ended_at ORDER BY o.number) AS h_ended,
           array_agg(o.estimate_label ORDER BY o.number) AS h_labels,
           array_agg(o.estimate_number ORDER BY o.number) AS h_values,
           array_agg((
               SELECT coalesce(
                   jsonb_agg(jsonb_build_array(w.account_id, w.label) ORDER BY w.position),
                   '[]'::jsonb)
               FROM round_votes AS w
               WHERE w.tenant_key = o.tenant_key AND w.room_id = o.room_id
                 AND w.number = o.number
           ) ORDER BY o.number) AS h_votes
    FROM rounds AS o
    WHERE o.tenant_key = r.tenant_key AND o.room_id = r.room_id
) AS h
"""  # noqa: S608 - built from constants only; values are $n parameters
GET = _ROOM_QUERY + "WHERE r.tenant_key = $1 AND r.room_id = $2"
BY_ISSUE = _ROOM_QUERY + "WHERE r.tenant_key = $1 AND r.issue_key = $2"
# Several rooms at once, by (tenant, room) pairs given as one JSON array of {"t", "r"}.
# Not as two arrays: the planner sees an array's length, so a plan made for two keys looks
# cheaper than the one plan for any number, and PostgreSQL then plans the statement anew
# at every run (a millisecond and more for this query, three times its run). The rows a
# JSON array holds are unknown to it, so the one plan is kept after the first runs.
_PAIRS = "(SELECT k.t, k.r FROM jsonb_to_recordset($1::jsonb) AS k(t text, r text))"
MANY = _ROOM_QUERY + f"WHERE (r.tenant_key, r.room_id) IN {_PAIRS}"

ROOM_COLUMNS = (
    "tenant_key, room_id, issue_key, owner, config, round, round_started_at, revealed, "
    "estimate_label, estimate_number, estimate_field_id, estimate_round, "
    "estimate_accepted_by, estimate_accepted_at, estimate_written, estimate_comment, "
    "estimate_comment_at, timer_round, "
    "timer_started_at, timer_ends_at, version, created_at, updated_at"
)
N_ROOM = len(ROOM_COLUMNS.split(","))

# The room's rows besides its own, each a data-modifying CTE joined to `room` (so that
# nothing is written when the version guard matched no row). A save includes only the
# parts whose arrays are not empty: a vote writes one vote row and nothing else.
_PARTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "gone_participants": (
        """DELETE FROM participants AS t USING room
    WHERE t.tenant_key = room.tenant_key AND t.room_id = room.room_id
      AND t.account_id = ANY({0}::text[])""",
        ("accounts",),
    ),
    "put_participants": (
        """INSERT INTO participants (tenant_key, room_id, account_id, role, online, joined_at)
    SELECT room.tenant_key, room.room_id, x.account_id, x.role, x.online, x.joined_at
    FROM room, unnest({0}::text[], {1}::text[], {2}::boolean[], {3}::timestamptz[])
         AS x(account_id, role, online, joined_at)
    ON CONFLICT (tenant_key, room_id, account_id) DO UPDATE
    SET role = excluded.role, online = excluded.online, joined_at = excluded.joined_at""",
        ("accounts", "roles", "online", "joined"),
    ),
    "gone_votes": (
        """DELETE FROM votes AS t USING room
    WHERE t.tenant_key = room.tenant_key AND t.room_id = room.room_id
      AND t.account_id = ANY({0}::text[])""",
        ("accounts",),
    ),
    "put_votes": (
        """INSERT INTO votes (tenant_key, room_id, account_id, label)
    SELECT room.tenant_key, room.room_id, x.account_id, x.label
    FROM room, unnest({0}::text[], {1}::text[]) AS x(account_id, label)
    ON CONFLICT (tenant_key, room_id, account_id) DO UPDATE SET label = excluded.label""",
        ("accounts", "labels"),
    ),
    "gone_rounds": (
        """DELETE FROM rounds AS t USING room
    WHERE t.tenant_key = room.tenant_key AND t.room_id = room.room_id
      AND t.number = ANY({0}::integer[])""",
        ("numbers",),
    ),
    "put_rounds": (
        """INSERT INTO rounds (tenant_key, room_id, number, deck, revealed, started_at,
                        ended_at, estimate_label, estimate_number)
    SELECT room.tenant_key, room.room_id, x.number, x.deck::jsonb, x.revealed, x.started_at,
           x.ended_at, x.estimate_label, x.estimate_number
    FROM room, unnest({0}::integer[], {1}::text[], {2}::boolean[], {3}::timestamptz[],
                      {4}::timestamptz[], {5}::text[], {6}::double precision[])
         AS x(number, deck, revealed, started_at, ended_at, estimate_label, estimate_number)
    ON CONFLICT (tenant_key, room_id, number) DO UPDATE
    SET deck = excluded.deck, revealed = excluded.revealed, started_at = excluded.started_at,
        ended_at = excluded.ended_at, estimate_label = excluded.estimate_label,
        estimate_number = excluded.estimate_number""",
        ("numbers", "decks", "revealed", "started", "ended", "labels", "values"),
    ),
    "gone_round_votes": (
        """DELETE FROM round_votes AS t
    USING room, unnest({0}::integer[], {1}::text[]) AS g(number, account_id)
    WHERE t.tenant_key = room.tenant_key AND t.room_id = room.room_id
      AND t.number = g.number AND t.account_id = g.account_id""",
        ("numbers", "accounts"),
    ),
    "put_round_votes": (
        """INSERT INTO round_votes (tenant_key, room_id, number, account_id, label, position)
    SELECT room.tenant_key, room.room_id, x.*
    FROM room, unnest({0}::integer[], {1}::text[], {2}::text[], {3}::smallint[])
         AS x(number, account_id, label, position)
    ON CONFLICT (tenant_key, room_id, number, account_id) DO UPDATE
    SET label = excluded.label, position = excluded.position""",
        ("numbers", "accounts", "labels", "positions"),
    ),
}
PARTS = tuple(_PARTS)
"""The names of the parts, in the order `rows.changes` lists them."""

_NOTIFY = f"""
SELECT pg_notify('{CHANNEL}', json_build_object(
    't', room.tenant_key, 'r', room.room_id, 'v', room.version)::text)
FROM room"""  # noqa: S608 - constant SQL


def _placeholder(n: int, column: str) -> str:
    # The configuration arrives as JSON text (cached per configuration, see rows.py).
    return f"${n}::text::jsonb" if column == "config" else f"${n}"


COLUMNS = tuple(column.strip() for column in ROOM_COLUMNS.split(","))
"""The room row's columns, in the order of `rows.room_columns`."""
_VALUES = ", ".join(_placeholder(n, column) for n, column in enumerate(COLUMNS, start=1))
# A site that is moving to another region takes no writes: its rows are being copied (see
# `archive.py`, which waits for the writes that began before the move). The guard reads
# the tenant in the statement's own snapshot, so a use case that checked the tenant just
# before the move began cannot slip a write in after it.
STILL_HERE = "NOT EXISTS (SELECT FROM tenants WHERE tenant_key = $1 AND moving_to IS NOT NULL)"
# A room nobody read in the unit of work (adopted) had its tenant's standing read by nobody
# either: its update checks, in its own snapshot, that the site may be served (installed or
# enabled, and not moving), as `TenantStanding.accessible` says.
SERVED = (
    "EXISTS (SELECT FROM tenants WHERE tenant_key = $1 AND moving_to IS NULL "
    "AND state IN ('installed', 'enabled'))"
)
_INSERT_ROOM = (
    f"INSERT INTO rooms ({ROOM_COLUMNS}) SELECT {_VALUES} "
    f"WHERE {STILL_HERE} RETURNING tenant_key, room_id, version"
)


def _update_room(columns: tuple[str, ...], guard: str) -> tuple[str, int]:
    """The update of `columns` (never the key) guarded by the version and by `guard`, and
    the next parameter number."""
    assignments = ", ".join(
        f"{column} = {_placeholder(n, column)}" for n, column in enumerate(columns, start=3)
    )
    version = len(columns) + 3
    sql = (
        f"UPDATE rooms SET {assignments} "  # noqa: S608 - names from COLUMNS only
        f"WHERE tenant_key = $1 AND room_id = $2 AND version = ${version} AND {guard} "
        "RETURNING tenant_key, room_id, version"
    )
    return sql, version + 1


@lru_cache(maxsize=256)
def save_statement(
    *,
    columns: tuple[str, ...] | None,
    parts: tuple[str, ...],
    served: bool = False,
    single: tuple[str, ...] = (),
) -> str:
    """The statement that writes a room row and the given parts, then notifies.

    `columns=None` inserts a new room: parameters are every column (`rows.room_columns`).
    Otherwise it updates only `columns` (those that changed; the version always does):
    parameters are the tenant key, the room id, those columns' values and the version
    read. Then come each part's arrays in order; a part named in `single` writes one row and
    takes each array's one value instead (made an array in SQL: asyncpg checks every
    array it encodes against three abstract base classes, ten Python calls for a vote's
    two arrays of one). With `served` the update also checks that
    the site may be served (`SERVED`), not only that it stays in this region. Each shape is
    one prepared statement per connection; the shapes in use are few (a vote changes the
    version, `updated_at` and one vote), and each one's text is made once: the same text
    object, its hash worked out, for asyncpg to find among the prepared statements
    (`benchmarks/memos.py`: 0.27 against 3.42 us a write).
    """
    if columns is None:
        room, number = _INSERT_ROOM, N_ROOM + 1
    else:
        room, number = _update_room(columns, SERVED if served else STILL_HERE)
    sql = [f"WITH room AS ({room})"]
    for name in parts:
        template, arrays = _PARTS[name]
        shape = "ARRAY[${}]" if name in single else "${}"
        placeholders = [shape.format(n) for n in range(number, number + len(arrays))]
        number += len(arrays)
        sql.append(f", {name} AS (\n    {template.format(*placeholders)}\n)")
    sql.append(_NOTIFY)
    return "\n".join(sql)


# A removed room's last signal is one version past the stored one, as the domain counts it.
DELETE = f"""
WITH gone AS (
    DELETE FROM rooms
    WHERE tenant_key = $1 AND room_id = $2 AND ($3::bigint IS NULL OR version = $3)
      AND {STILL_HERE}
    RETURNING tenant_key, room_id, version
)
SELECT pg_notify('{CHANNEL}', json_build_object(
    't', gone.tenant_key, 'r', gone.room_id, 'v', gone.version + 1)::text)
FROM gone
"""  # noqa: S608 - built from constants only; values are $n parameters
WITH_ACCOUNT = """
SELECT tenant_key, room_id FROM rooms WHERE owner = $1 OR estimate_accepted_by = $1
UNION SELECT tenant_key, room_id FROM participants WHERE account_id = $1
UNION SELECT tenant_key, room_id FROM votes WHERE account_id = $1
UNION SELECT tenant_key, room_id FROM round_votes WHERE account_id = $1
"""
