"""Why a Forge invocation was not authenticated: one exception, many safe reasons.

The reason is a fixed code chosen here, never text from the request, so it can be logged
or answered without carrying a token or a claim. Forge reads a 401 as "the remote could
not verify the Forge Invocation Token" (forge-remote.md §2.1), so 401 is kept for an
invalid token; a fault on our side or Atlassian's (the key set cannot be fetched) is a
503, and a genuine token that may not be served is the caller's to answer with a 403.
"""

from __future__ import annotations

from enum import Enum

from agiletoolbox.adapters.auth_error import AuthError


class ForgeAuthFailure(Enum):
    """A reason for refusing a Forge invocation; the value is its stable code."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 - a reason code, not a secret
    AMBIGUOUS_TOKEN = "ambiguous_token"  # noqa: S105 - a reason code, not a secret
    MALFORMED_TOKEN = "malformed_token"  # noqa: S105 - a reason code, not a secret
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNSUPPORTED_HEADER = "unsupported_header"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    WRONG_ISSUER = "wrong_issuer"
    WRONG_AUDIENCE = "wrong_audience"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    KEYS_UNAVAILABLE = "keys_unavailable"

    @property
    def status(self) -> int:
        """401 for a token that is not valid; 503 when it could not be checked."""
        return 503 if self is ForgeAuthFailure.KEYS_UNAVAILABLE else 401


class ForgeAuthError(AuthError[ForgeAuthFailure]):
    """A Forge invocation could not be authenticated; `reason` says why, safely."""

    credential = "Forge"
