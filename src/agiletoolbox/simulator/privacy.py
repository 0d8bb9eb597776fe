"""Atlassian's personal-data reporting API: `POST /app/report-accounts/` (connect.md §7).

Body `{"accounts": [{"accountId", "updatedAt"}]}`, 1 to 90 accounts, ids of 1-128
letters, digits, `-` and `:`, times in RFC 3339. Answers 200 with the accounts that are
`closed` (the documented test id `5be24ba3f91c106033269289` always is) or `updated`, 204
when there is nothing to do, 400 `{"errorType", "errorMessage"}` for a bad request; the
`Cycle-Period` header (days) when one is set.

Authentication is the app's JWT as the reference infers it (the exact claim set is not
documented): HS256 signed with the shared secret of any site the app is installed on,
`iss` the app key, `qsh` over `POST&/app/report-accounts&`, relative to this origin.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.cloud import CLOUD, Cloud, failure_response, token_of, unauthorized
from agiletoolbox.simulator.forge import ForgePlatform
from agiletoolbox.simulator.record import ANONYMOUS, APP, RecordedRequest
from agiletoolbox.simulator.tokens import TokenRejected, decode, verify_request_token

REPORT_PATH = "/app/report-accounts/"
MAX_ACCOUNTS = 90
_ACCOUNT_ID = re.compile(r"[A-Za-z0-9:-]{1,128}")


def _bad_request(message: str) -> web.Response:
    return web.json_response({"errorType": "INVALID_REQUEST", "errorMessage": message}, status=400)


def _authenticate(cloud: Cloud, request: web.Request, forge: ForgePlatform | None) -> str:
    """The app key whose JWT signed the request (or the Forge app whose system token it
    carries)."""
    header = request.headers.get("Authorization", "")
    if forge is not None and header[:7].lower() == "bearer ":
        return _forge_app(cloud, forge, header[7:].strip())
    token = token_of(request)
    if token is None:
        raise TokenRejected("missing token")
    issuer = decode(token).claims.get("iss")
    secrets = [
        installation.shared_secret
        for site in cloud.sites.values()
        for key, installation in site.installations.items()
        if key == issuer and installation.state != "uninstalled"
    ]
    if not isinstance(issuer, str) or not secrets:
        raise TokenRejected("unknown issuer")
    reason = "signature"
    for secret in secrets:
        try:
            verify_request_token(
                token,
                secret=secret,
                issuer=issuer,
                method=request.method,
                raw_target=request.raw_path,
                base_path="",
                now=cloud.clock(),
                policy=cloud.policy,
            )
        except TokenRejected as rejected:
            reason = rejected.reason
            continue
        return issuer
    raise TokenRejected(reason)


def _forge_app(cloud: Cloud, forge: ForgePlatform, token: str) -> str:
    """The Forge app whose installation's system token this is (a user's token is not)."""
    reason = "unknown token"
    for site in cloud.sites.values():
        caller = forge.bearer(site, token)
        if isinstance(caller, str):
            reason = caller
        elif caller.kind == APP:
            return forge.app_id
        else:
            reason = "a user's token"
    raise TokenRejected(reason)


def _problem(entry: object) -> str | None:
    """Why one reported account is not valid, or None."""
    if not isinstance(entry, dict):
        return "Every account must be an object."
    account_id, updated = entry.get("accountId"), entry.get("updatedAt")
    if not isinstance(account_id, str) or not _ACCOUNT_ID.fullmatch(account_id):
        return "An accountId is not valid."
    try:
        moment = datetime.fromisoformat(str(updated).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        return "An updatedAt is not an RFC 3339 time."
    return None


def _accounts(body: Any) -> list[str] | str:
    """The reported account ids, or why the request is bad."""
    if not isinstance(body, dict) or not isinstance(body.get("accounts"), list):
        return "The request body must hold an 'accounts' array."
    entries = body["accounts"]
    if not 1 <= len(entries) <= MAX_ACCOUNTS:
        return f"Between 1 and {MAX_ACCOUNTS} accounts can be reported at once."
    for entry in entries:
        problem = _problem(entry)
        if problem is not None:
            return problem
    return [entry["accountId"] for entry in entries]


async def report_accounts(request: web.Request) -> web.Response:
    """`POST /app/report-accounts/`."""
    cloud = request.app[CLOUD]
    api = cloud.personal_data
    failure: str | None = None
    try:
        _authenticate(cloud, request, request.app.get(FORGE))
    except TokenRejected as rejected:
        failure = rejected.reason
    response = await _answer(cloud, request) if failure is None else unauthorized()
    cloud.recorder.requests.append(
        RecordedRequest(
            site=None,
            method=request.method,
            path=request.path,
            caller=APP if failure is None else ANONYMOUS,
            jwt_valid=failure is None,
            status=response.status,
            failure=failure,
        )
    )
    if api.cycle_period_days is not None and response.status in (200, 204):
        response.headers["Cycle-Period"] = str(api.cycle_period_days)
    return response


async def _answer(cloud: Cloud, request: web.Request) -> web.Response:
    api = cloud.personal_data
    fault = api.faults.next_failure()
    if fault is not None:
        return failure_response(fault.status, fault.headers, fault.encoded())
    try:
        body = json.loads(await request.text())
    except ValueError:
        return _bad_request("The request body is not JSON.")
    accounts = _accounts(body)
    if isinstance(accounts, str):
        return _bad_request(accounts)
    api.reports.append(accounts)
    statuses = []
    for account_id in dict.fromkeys(accounts):
        if account_id in api.closed:
            statuses.append({"accountId": account_id, "status": "closed"})
        elif account_id in api.updated:
            statuses.append({"accountId": account_id, "status": "updated"})
    if not statuses:
        return web.Response(status=204)
    return web.json_response({"accounts": statuses})


FORGE = web.AppKey("privacy_forge", ForgePlatform)


def add_routes(app: web.Application, forge: ForgePlatform | None = None) -> None:
    """Mount the personal-data API at the simulator's root (Forge system tokens accepted
    when `forge` is given)."""
    if forge is not None:
        app[FORGE] = forge
    app.router.add_post(REPORT_PATH, report_accounts)
