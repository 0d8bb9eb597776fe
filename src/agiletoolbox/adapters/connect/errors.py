"""Why a Connect request was not authenticated: one exception, many safe reasons.

The reason is a fixed code chosen here, never text from the request, so an error can be
logged or answered without ever carrying a token, a claim value or a secret.
"""

from __future__ import annotations

from enum import Enum

from agiletoolbox.adapters.auth_error import AuthError


class AuthFailure(Enum):
    """A reason for refusing a Connect request; the value is its stable code."""

    MISSING_TOKEN = "missing_token"  # noqa: S105 - a reason code, not a secret
    AMBIGUOUS_TOKEN = "ambiguous_token"  # noqa: S105 - a reason code, not a secret
    MALFORMED_TOKEN = "malformed_token"  # noqa: S105 - a reason code, not a secret
    ALGORITHM_NOT_ALLOWED = "algorithm_not_allowed"
    UNSUPPORTED_HEADER = "unsupported_header"
    MISSING_CLAIM = "missing_claim"
    INVALID_CLAIM = "invalid_claim"
    UNKNOWN_ISSUER = "unknown_issuer"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    QSH_MISMATCH = "qsh_mismatch"
    CONTEXT_TOKEN_REFUSED = "context_token_refused"  # noqa: S105 - a reason code, not a secret
    CONTEXT_TOKEN_REQUIRED = "context_token_required"  # noqa: S105 - a reason code, not a secret
    TENANT_INACCESSIBLE = "tenant_inaccessible"
    INVALID_KEY_ID = "invalid_key_id"
    UNKNOWN_KEY = "unknown_key"
    KEY_UNAVAILABLE = "key_unavailable"
    WRONG_AUDIENCE = "wrong_audience"
    CLIENT_KEY_MISMATCH = "client_key_mismatch"

    @property
    def status(self) -> int:
        """The HTTP status that fits: 401 unless the caller is known or we are at fault."""
        return _STATUS.get(self, 401)


_STATUS = {
    # The token is genuine but names a tenant that may not be served, or another one.
    AuthFailure.TENANT_INACCESSIBLE: 403,
    AuthFailure.CLIENT_KEY_MISMATCH: 403,
    # Atlassian's key server failed us; the install may be retried.
    AuthFailure.KEY_UNAVAILABLE: 503,
}


class ConnectAuthError(AuthError[AuthFailure]):
    """A Connect request could not be authenticated; `reason` says why, safely."""

    credential = "Connect"
