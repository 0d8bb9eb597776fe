"""Error reports: where an error happened, its message and code - scrubbed before keeping.

The privacy policy allows the app to keep the place in the code (stack trace), the message
and the code of an error. The callers give the error's type and where it happened, never
what an error says about the data it met (which may quote what someone typed); on top of
that, tokens, secrets, account ids and e-mail addresses are cut out by `scrub` before a
report exists. Equal reports (same site, code, message and stack) are counted, not kept
again: `fingerprint` says which are equal.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets as random_ids
from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from attrs import Attribute, field, frozen
from attrs.validators import instance_of
from attrs.validators import optional as optional_of

from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import TenantKey
from agiletoolbox.domain.timing import utc

REDACTED = "[redacted]"
MAX_WHERE_LENGTH = 8_000
MAX_MESSAGE_LENGTH = 1_000
MAX_CODE_LENGTH = 64
_TRUNCATED = "…"
# Redacting may expose a new match next to a marker; a few passes always reach a fixpoint.
_MAX_PASSES = 8

_REPORT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_CODE = re.compile(r"[A-Za-z0-9_.:/-]+")

_JWT = re.compile(r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]*=*\.[A-Za-z0-9_-]+=*\.[A-Za-z0-9_-]*=*")
# `key: value` or `key=value` for keys that name credentials: query strings, JSON, headers,
# Python reprs. The value is a quoted string (possibly cut off) or a bare word, optionally
# preceded by an auth scheme (`Authorization: Bearer x`).
_CREDENTIAL_VALUE = re.compile(
    r"""(?ix)
    (?<![A-Za-z0-9_.-])["']?
    [A-Za-z0-9_.-]*?
    (?:token|secret|password|passwd|pwd|jwt|ticket|authorization|api[_-]?key|cookie
      |credentials?|forge-oauth-(?:system|user))s?
    ["']?\s*(?::|=(?!=))\s*
    (?:"(?P<dq>(?:[^"\\\n]|\\.)*)"?
      |'(?P<sq>(?:[^'\\\n]|\\.)*)'?
      |(?P<bare>(?:(?:bearer|jwt|basic|digest|token)[ \t]+)?[^\s&,;"'<>(){}]+))
    """
)
_AUTH_SCHEME = re.compile(
    r"(?i)(?<![A-Za-z0-9_-])(?:bearer|jwt|basic)[ \t]+(?P<credential>[A-Za-z0-9._~+/-]{8,}=*)"
)
_URL_USERINFO = re.compile(r"(?<=://)[^/\s@\[\]]+@")
_ACCOUNT_UUID = re.compile(
    r"(?i)(?<![A-Za-z0-9])\d{1,10}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"(?![A-Za-z0-9])"
)
_ACCOUNT_HEX = re.compile(r"(?i)(?<![A-Za-z0-9])[0-9a-f]{24}(?![A-Za-z0-9])")
_ACCOUNT_QM = re.compile(r"(?i)(?<![A-Za-z0-9])qm:[A-Za-z0-9:_-]+")
_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_LONG_RUN = re.compile(r"(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{32,}=*")
_HEX_RUN = re.compile(r"[0-9a-fA-F]{32,}")
_ENTROPY_BITS = 4.3


def _looks_random(run: str) -> bool:
    """Whether a long run reads like a key or token rather than a path or a name."""
    body = run.rstrip("=")
    if _HEX_RUN.fullmatch(body) and not body.isdigit() and not body.isalpha():
        return True
    # Mixed case with digits reads as a key, unless it is a path ("/rest/api/3/issue/DEMO-1").
    if "/" not in body and all(
        any(test(c) for c in body) for test in (str.islower, str.isupper, str.isdigit)
    ):
        return True
    counts = Counter(body).values()
    bits = -sum(n / len(body) * math.log2(n / len(body)) for n in counts)
    return bits >= _ENTROPY_BITS


def _pattern_spans(text: str) -> Iterable[tuple[int, int]]:
    for pattern in (_JWT, _URL_USERINFO, _ACCOUNT_UUID, _ACCOUNT_HEX, _ACCOUNT_QM, _EMAIL):
        yield from (m.span() for m in pattern.finditer(text))
    for match in _CREDENTIAL_VALUE.finditer(text):
        group = next(g for g in ("dq", "sq", "bare") if match.group(g) is not None)
        yield match.span(group)
    for match in _AUTH_SCHEME.finditer(text):
        credential = match.group("credential")
        # Prose such as "JWT signature" keeps its word; credentials have digits or length.
        if len(credential) >= 20 or not credential.isalpha():
            yield match.span("credential")
    for match in _LONG_RUN.finditer(text):
        if _looks_random(match.group()):
            yield match.span()


def _needle_spans(text: str, needles: Iterable[str]) -> Iterable[tuple[int, int]]:
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            # Overlapping occurrences too, so "aaa" leaves nothing of the needle "aa".
            yield start, start + len(needle)
            start = text.find(needle, start + 1)


def _redact(text: str, spans: Iterable[tuple[int, int]]) -> str:
    # Overlapping or touching spans become one marker.
    merged: list[list[int]] = []
    for start, end in sorted(span for span in spans if span[1] > span[0]):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces += [text[position:start], REDACTED]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def scrub(text: str, *, secrets: Iterable[str] = (), account_ids: Iterable[str] = ()) -> str:
    """`text` with credentials and personal data replaced by `[redacted]`.

    Removed: JWTs; `Authorization`/`Bearer`/`JWT` credentials; values of `jwt`, `ticket`,
    `token`, `secret`, `password`, `sharedSecret` (and similar) keys in queries, JSON and
    headers; URL credentials; the given secrets and account ids verbatim; Atlassian
    account-id shapes (`557058:<uuid>`, 24 hex digits, `qm:…`); long random-looking
    base64/hex runs; e-mail addresses. Idempotent: scrubbing twice changes nothing more.
    """
    # A needle inside the marker itself could never be removed; such short strings are
    # no real secret or account id.
    needles = {n for n in (*secrets, *account_ids) if n and n not in REDACTED}
    for _ in range(_MAX_PASSES):
        spans = [*_needle_spans(text, needles), *_pattern_spans(text)]
        scrubbed = _redact(text, spans)
        if scrubbed == text:
            break
        text = scrubbed
    return text


def _capped(text: str, limit: int) -> str:
    # NUL cannot be stored in PostgreSQL text; other characters are kept as they were.
    text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[: limit - len(_TRUNCATED)] + _TRUNCATED


def _at_most(limit: int) -> Callable[[object, Attribute[str], str], None]:
    def check(_instance: object, attribute: Attribute[str], value: str) -> None:
        if not isinstance(value, str) or len(value) > limit or "\x00" in value:
            raise InvalidValue(f"an error report's {attribute.name} is not valid")

    return check


def _check_pattern(
    pattern: re.Pattern[str], limit: int
) -> Callable[[object, Attribute[str], str], None]:
    def check(_instance: object, attribute: Attribute[str], value: str) -> None:
        if not isinstance(value, str) or len(value) > limit or not pattern.fullmatch(value):
            raise InvalidValue(f"an error report's {attribute.name} is not valid")

    return check


def _positive(_instance: object, attribute: Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise InvalidValue(f"an error report's {attribute.name} is not valid")


def optional_utc(value: datetime | None) -> datetime | None:
    """`utc`, letting None through."""
    return None if value is None else utc(value)


@frozen
class ErrorReport:
    """One error, as kept: scrubbed stack trace (`where`), message and code.

    Build it with `capture`, which scrubs; the constructor only checks shapes (it is what a
    repository uses to load a stored report).
    """

    id: str = field(validator=_check_pattern(_REPORT_ID, 64))
    at: datetime = field(converter=utc)
    where: str = field(validator=_at_most(MAX_WHERE_LENGTH))
    message: str = field(validator=_at_most(MAX_MESSAGE_LENGTH))
    code: str = field(validator=_check_pattern(_CODE, MAX_CODE_LENGTH))
    tenant: TenantKey | None = field(default=None, validator=optional_of(instance_of(TenantKey)))
    count: int = field(default=1, validator=_positive)
    """How many times the error happened (equal reports are counted, not kept again)."""
    last_at: datetime | None = field(default=None, converter=optional_utc)
    """When it last happened, if more than once."""

    @property
    def fingerprint(self) -> str:
        """What equal reports share: a digest of the site, code, message and stack."""
        digest = hashlib.sha256()
        for part in (self.tenant.value if self.tenant else "", self.code, self.message, self.where):
            digest.update(part.encode("utf-8", "replace") + b"\x00")
        return digest.hexdigest()

    @classmethod
    def capture(
        cls,
        *,
        where: str,
        message: str,
        code: str,
        now: datetime,
        tenant: TenantKey | None = None,
        report_id: str | None = None,
        secrets: Iterable[str] = (),
        account_ids: Iterable[str] = (),
    ) -> ErrorReport:
        """A report of an error, scrubbed, then cut to the stored lengths.

        `secrets` and `account_ids` are removed verbatim on top of the patterns `scrub`
        knows (pass the tenant's shared secret and the accounts involved). A code that is
        not a plain identifier is kept as `error`; a new random id is made when none is given.
        """
        needles = (tuple(secrets), tuple(account_ids))
        clean_code = scrub(code, secrets=needles[0], account_ids=needles[1]) if code else ""
        if not _CODE.fullmatch(clean_code) or len(clean_code) > MAX_CODE_LENGTH:
            clean_code = "error"
        return cls(
            id=random_ids.token_hex(16) if report_id is None else report_id,
            at=now,
            where=_capped(
                scrub(where, secrets=needles[0], account_ids=needles[1]), MAX_WHERE_LENGTH
            ),
            message=_capped(
                scrub(message, secrets=needles[0], account_ids=needles[1]), MAX_MESSAGE_LENGTH
            ),
            code=clean_code,
            tenant=tenant,
        )
