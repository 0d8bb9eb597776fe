"""The Jira REST endpoints the app calls, answering as Jira Cloud does (connect.md §6).

- `GET /rest/api/3/field` - every field of the site (`FieldDetails`);
- `GET /rest/api/3/issue/{key}/editmeta` - the fields on the issue's edit screen;
- `GET /rest/api/3/issue/{key}?fields=a,b` - the issue with those fields (numbers as
  floats, options as `{"self", "value", "id"}`);
- `PUT /rest/api/3/issue/{key}` - `{"fields": {...}}` and/or `{"update": {id: [{"set":
  v}]}}`, 204; a field off the screen or unknown gets Jira's 400 "Field 'x' cannot be
  set. It is not on the appropriate screen, or unknown."; wrong types their 400s;
- `GET|POST /rest/api/3/search/jql` - a bounded JQL query's issues a page at a time
  (`nextPageToken`, omitted on the last page, and `isLast`; no `total`), the subset of
  JQL in `jql.py`, Jira's 400 and message for a query it refuses;
- `GET /rest/api/3/filter/search`, `GET /rest/api/3/filter/{id}` - saved filters;
- `GET /rest/api/3/issue/picker` - issues by key or summary text, in Jira's sections.

All answer 404 `Issue does not exist or you do not have permission to see it.` for an
unknown issue. The reads also answer a person's browser session (as `AP.request` calls
them from the app's page); the edit takes the app's JWT only (see `cloud.endpoint`).
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Callable
from typing import Any

from aiohttp import web

from agiletoolbox.simulator.answers import NO_ISSUE, UNREADABLE, errors, json_body
from agiletoolbox.simulator.cloud import Caller, endpoint
from agiletoolbox.simulator.comments import add_comment, list_comments
from agiletoolbox.simulator.jql import JqlError
from agiletoolbox.simulator.jql import parse as jql_parse
from agiletoolbox.simulator.qsh import query_pairs
from agiletoolbox.simulator.sample import DESCRIPTIONS, description_adf
from agiletoolbox.simulator.site import FieldDef, Issue, SavedFilter, Site

MAX_TEXT = 255
_OVERRIDES = ("overrideScreenSecurity", "overrideEditableFlag")


def _field_json(site: Site, field_def: FieldDef) -> dict[str, Any]:
    custom = field_def.custom is not None
    clause = f"cf[{field_def.id.rpartition('_')[2]}]" if custom else field_def.id
    return {
        "id": field_def.id,
        "key": field_def.id,
        "name": field_def.name,
        "custom": custom,
        "orderable": True,
        "navigable": True,
        "searchable": True,
        "clauseNames": [clause, field_def.name] if custom else [clause],
        "schema": dict(field_def.schema),
        **({"untranslatedName": field_def.name} if custom else {}),
    }


async def list_fields(_request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/field`."""
    return web.json_response([_field_json(site, f) for f in site.fields.values()])


def _metadata(site: Site, field_def: FieldDef) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "required": field_def.id == "summary",
        "schema": dict(field_def.schema),
        "name": field_def.name,
        "key": field_def.id,
        "operations": ["set"],
    }
    if field_def.type == "option":
        metadata["allowedValues"] = [
            {
                "self": f"{site.base_url}/rest/api/3/customFieldOption/{o.id}",
                "value": o.value,
                "id": o.id,
                **({"disabled": True} if o.disabled else {}),
            }
            for o in field_def.options
        ]
    return metadata


def _issue(site: Site, request: web.Request) -> Issue | None:
    return site.issue(request.match_info["issue"])


async def editmeta(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/issue/{key}/editmeta`."""
    if _issue(site, request) is None:
        return errors(404, [NO_ISSUE], {})
    fields = {
        field_id: _metadata(site, field_def)
        for field_id in sorted(site.screen)
        if (field_def := site.editable(field_id)) is not None
    }
    return web.json_response({"fields": fields})


def _requested(site: Site, request: web.Request) -> list[str]:
    raw = request.raw_path.partition("?")[2]
    wanted = [v for name, value in query_pairs(raw) if name == "fields" for v in value.split(",")]
    names = [w.strip() for w in wanted if w.strip()] or ["*navigable"]
    chosen: list[str] = []
    for name in names:
        if name in ("*all", "*navigable"):
            chosen.extend(site.fields)
        elif not name.startswith("-") and name in site.fields:
            chosen.append(name)
    excluded = {name[1:] for name in names if name.startswith("-")}
    return [f for f in dict.fromkeys(chosen) if f not in excluded]


async def get_issue(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/issue/{key}`."""
    issue = _issue(site, request)
    if issue is None:
        return errors(404, [NO_ISSUE], {})
    fields: dict[str, Any] = {
        f: site.value_json(issue, site.fields[f]) for f in _requested(site, request)
    }
    wanted = [v for name, value in query_pairs(request.raw_path.partition("?")[2])
              if name == "fields" for v in value.split(",")]  # fmt: skip
    fields.update(_search_fields(site, issue, [w for w in wanted if w in _SYSTEM_FIELDS]))
    return web.json_response(
        {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "self": f"{site.base_url}/rest/api/3/issue/{issue.id}",
            "key": issue.key,
            "fields": fields,
        }
    )


NOT_A_NUMBER = "Operation value must be a number"
NOT_A_STRING = "Operation value must be a string"
NOT_A_DOCUMENT = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
TOO_LONG = "The entered text is too long. It exceeds the allowed limit of 255 characters."
Checked = tuple[object, str | None]
"""The value to store, or Jira's message refusing it."""


def _number(value: object) -> Checked:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, NOT_A_NUMBER
    return float(value), None


def _option(field_def: FieldDef, value: object) -> Checked:
    if not isinstance(value, dict) or not ("value" in value or "id" in value):
        return None, f"Specify a valid 'id' or 'name' for {field_def.name}"
    option = field_def.option(option_id=value.get("id"), value=value.get("value"))
    if option is None:
        return None, f"Option value '{value.get('value', value.get('id'))}' is not valid"
    return option.id, None


def _text(field_def: FieldDef, value: object) -> Checked:
    if field_def.custom is not None and field_def.custom.endswith(":textarea"):
        # REST v3 takes multi-line text as an Atlassian Document only.
        if isinstance(value, dict) and value.get("type") == "doc":
            return value, None
        return None, NOT_A_DOCUMENT
    if not isinstance(value, str):
        return None, NOT_A_STRING
    if len(value) > MAX_TEXT:
        return None, TOO_LONG
    if field_def.id == "summary" and not value.strip():
        return None, "You must specify a summary of the issue."
    return value, None


def _checked(field_def: FieldDef, value: object) -> Checked:
    if value is None:
        return None, None
    if field_def.type == "number":
        return _number(value)
    if field_def.type == "option":
        return _option(field_def, value)
    return _text(field_def, value)


def _changes(body: dict[str, Any]) -> tuple[dict[str, object], dict[str, str], list[str]]:
    """The field values asked for, Jira's field errors, and its general errors."""
    wanted: dict[str, object] = {}
    field_errors: dict[str, str] = {}
    fields = body.get("fields", {})
    update = body.get("update", {})
    if not isinstance(fields, dict) or not isinstance(update, dict):
        return {}, {}, [UNREADABLE]
    wanted.update(fields)
    for field_id, operations in update.items():
        if field_id in fields:
            field_errors[field_id] = (
                f"Field '{field_id}' cannot appear in both 'fields' and 'update'"
            )
            continue
        sets = (
            [op["set"] for op in operations if isinstance(op, dict) and "set" in op]
            if isinstance(operations, list)
            else []
        )
        if len(sets) != 1:
            field_errors[field_id] = f"Field '{field_id}' supports only the 'set' operation"
            continue
        wanted[field_id] = sets[0]
    if not wanted and not field_errors:
        return {}, {}, ["No fields to edit."]
    return wanted, field_errors, []


def off_screen(field_id: str) -> str:
    """Jira's refusal of a field that is not on the edit screen (or does not exist)."""
    return f"Field '{field_id}' cannot be set. It is not on the appropriate screen, or unknown."


def _apply(site: Site, issue: Issue, body: dict[str, Any]) -> web.Response:
    wanted, field_errors, messages = _changes(body)
    if messages:
        return errors(400, messages, {})
    stored: dict[str, object] = {}
    for field_id, value in wanted.items():
        field_def = site.editable(field_id)
        checked, refusal = (
            (None, off_screen(field_id)) if field_def is None else _checked(field_def, value)
        )
        if refusal is not None:
            field_errors[field_id] = refusal
        else:
            stored[field_id] = checked
    if field_errors:
        return errors(400, [], field_errors)
    if not site.faults.ignore_writes:
        issue.values.update(stored)
    return web.Response(status=204)


async def edit_issue(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`PUT /rest/api/3/issue/{key}`."""
    issue = _issue(site, request)
    if issue is None:
        return errors(404, [NO_ISSUE], {})
    raw = request.raw_path.partition("?")[2]
    if any(n in _OVERRIDES and v.lower() == "true" for n, v in query_pairs(raw)):
        message = "Only Jira administrators can override screen security or the editable flag."
        return errors(403, [message], {})
    body = await json_body(request)
    if body is None:
        return errors(400, [UNREADABLE], {})
    return _apply(site, issue, body)


# -- JQL search ------------------------------------------------------------------------

DEFAULT_PAGE = 50
MAX_PAGE_WITH_FIELDS = 100
MAX_PAGE_IDS_ONLY = 5000
BAD_PAGE = "The provided next page token is invalid or expired."


def _page_token(jql: str, offset: int) -> str:
    digest = hashlib.sha256(jql.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(f"{offset}:{digest}".encode()).decode().rstrip("=")


def _offset_of(token: str, jql: str) -> int | None:
    try:
        offset, digest = (
            base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode().split(":")
        )
        number = int(offset)
    except (ValueError, UnicodeDecodeError):
        return None
    return number if _page_token(jql, number) == token and digest else None


_SYSTEM_FIELDS = ("issuetype", "status", "created", "description")


def _search_fields(site: Site, issue: Issue, names: list[str]) -> dict[str, Any]:
    """The fields of a search hit that the request named (summary, issuetype, status,
    created, description, the site's fields)."""
    chosen: dict[str, Any] = {}
    for name in names:
        if name == "description":
            text = DESCRIPTIONS.get(issue.key)
            chosen[name] = None if text is None else description_adf(text)
        elif name == "issuetype":
            chosen[name] = {
                "id": issue.issuetype_id,
                "name": issue.issuetype_name,
                "subtask": False,
                "iconUrl": f"{site.base_url}/images/icons/issuetypes/"
                f"{issue.issuetype_name.lower()}.svg",
            }
        elif name == "status":
            category = {"To Do": "new", "In Progress": "indeterminate", "Done": "done"}
            chosen[name] = {
                "name": issue.status,
                "statusCategory": {
                    "key": category[issue.status_category],
                    "name": issue.status_category,
                },
            }
        elif name == "created":
            chosen[name] = issue.created
        elif name in site.fields:
            chosen[name] = site.value_json(issue, site.fields[name])
    return chosen


async def search_jql(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET` or `POST /rest/api/3/search/jql`: the issues a bounded JQL query finds, a page
    at a time (`nextPageToken`, absent on the last page, and `isLast`); `fields` defaults
    to `id` only."""
    if request.method == "POST":
        body = await json_body(request)
        if not isinstance(body, dict):
            return errors(400, [UNREADABLE], {})
        jql = str(body.get("jql") or "")
        token = body.get("nextPageToken")
        raw_fields = body.get("fields") or []
        size = body.get("maxResults", DEFAULT_PAGE)
    else:
        jql = request.query.get("jql", "")
        token = request.query.get("nextPageToken")
        raw_fields = [f for f in request.query.get("fields", "").split(",") if f]
        size = request.query.get("maxResults", DEFAULT_PAGE)
    names = [str(f).strip() for f in raw_fields] if isinstance(raw_fields, list) else []
    try:
        query = jql_parse(site, jql)
    except JqlError as refused:
        return errors(400, [refused.message], {})
    try:
        size = int(size)
    except (TypeError, ValueError):
        return errors(400, ["maxResults must be a number."], {})
    ids_only = set(names) <= {"id", "key"}
    size = max(1, min(size, MAX_PAGE_IDS_ONLY if ids_only else MAX_PAGE_WITH_FIELDS))
    offset = 0
    if token is not None:
        found = _offset_of(str(token), jql)
        if found is None:
            return errors(400, [BAD_PAGE], {})
        offset = found
    hits = query.run(site)
    page = hits[offset : offset + size]
    issues = []
    for issue in page:
        entry: dict[str, Any] = {"id": issue.id}
        if (names and not ids_only) or "key" in names:
            entry.update({"key": issue.key, "self": f"{site.base_url}/rest/api/3/issue/{issue.id}"})
        wanted = [n for n in names if n not in ("id", "key")]
        if wanted:
            entry["fields"] = _search_fields(site, issue, wanted)
        issues.append(entry)
    answer: dict[str, Any] = {"issues": issues, "isLast": offset + size >= len(hits)}
    if not answer["isLast"]:
        answer["nextPageToken"] = _page_token(jql, offset + size)
    return web.json_response(answer)


# -- saved filters and the issue picker ---------------------------------------------------


def _filter_json(site: Site, saved: SavedFilter) -> dict[str, Any]:
    return {
        "id": saved.id,
        "name": saved.name,
        "jql": saved.jql,
        "self": f"{site.base_url}/rest/api/3/filter/{saved.id}",
        "owner": {"accountId": saved.owner},
        "favourite": True,
    }


async def search_filters(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/filter/search?filterName=&expand=jql`: the saved filters whose
    name holds `filterName`, a page of them (`startAt`, `maxResults`, `total`, `isLast`)."""
    wanted = request.query.get("filterName", "").lower()
    matching = [f for f in site.filters.values() if wanted in f.name.lower()]
    try:
        start = max(0, int(request.query.get("startAt", "0")))
        size = max(1, min(100, int(request.query.get("maxResults", "50"))))
    except ValueError:
        return errors(400, ["startAt and maxResults must be numbers."], {})
    page = matching[start : start + size]
    expand = "jql" in request.query.get("expand", "").split(",")
    values = []
    for saved in page:
        shown = _filter_json(site, saved)
        if not expand:
            shown.pop("jql")
        values.append(shown)
    return web.json_response(
        {
            "self": f"{site.base_url}/rest/api/3/filter/search",
            "startAt": start,
            "maxResults": size,
            "total": len(matching),
            "isLast": start + size >= len(matching),
            "values": values,
        }
    )


async def get_filter(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/filter/{id}`: one saved filter with its JQL."""
    saved = site.filters.get(request.match_info["id"])
    if saved is None:
        message = f"The selected filter with id '{request.match_info['id']}' does not exist."
        return errors(400, [message], {})
    return web.json_response(_filter_json(site, saved))


async def issue_picker(request: web.Request, site: Site, _caller: Caller) -> web.Response:
    """`GET /rest/api/3/issue/picker?query=&currentJQL=`: issues whose key or summary holds
    the text, in Jira's sections ("History Search" and "Current Search")."""
    text = request.query.get("query", "").strip().lower()
    current = request.query.get("currentJQL", "")
    candidates = list(site.issues.values())
    if current:
        try:
            candidates = jql_parse(site, current).run(site)
        except JqlError as refused:
            return errors(400, [refused.message], {})
    hits = [
        issue
        for issue in candidates
        if text and (text in issue.key.lower() or text in issue.summary.lower())
    ][:20]
    shown = [
        {
            "key": issue.key,
            "keyHtml": issue.key,
            "img": f"/images/icons/issuetypes/{issue.issuetype_name.lower()}.svg",
            "summary": issue.summary,
            "summaryText": issue.summary,
        }
        for issue in hits
    ]
    return web.json_response(
        {
            "sections": [
                {
                    "label": "Current Search",
                    "sub": f"Showing {len(shown)} of {len(shown)} matching issues",
                    "id": "cs",
                    "issues": shown,
                }
            ]
        }
    )


def add_routes(
    app: web.Application, prefix: str, wrap: Callable[..., Callable[[web.Request], Any]] = endpoint
) -> None:
    """Mount the endpoints under each site's base path (`prefix` = `/sites/{site}`).

    `wrap` authenticates them: Connect JWTs and browser sessions (`cloud.endpoint`), or
    Forge bearer tokens under the API gateway's prefix (`ForgePlatform.endpoint`).
    """
    api = f"{prefix}/rest/api/3"
    app.router.add_get(f"{api}/field", wrap(list_fields, browser=True))
    app.router.add_get(f"{api}/issue/picker", wrap(issue_picker, browser=True))
    app.router.add_get(f"{api}/issue/{{issue}}/editmeta", wrap(editmeta, browser=True))
    app.router.add_get(f"{api}/issue/{{issue}}", wrap(get_issue, browser=True))
    app.router.add_put(f"{api}/issue/{{issue}}", wrap(edit_issue))
    app.router.add_get(f"{api}/search/jql", wrap(search_jql, browser=True))
    app.router.add_post(f"{api}/search/jql", wrap(search_jql, browser=True))
    app.router.add_get(f"{api}/filter/search", wrap(search_filters, browser=True))
    app.router.add_get(f"{api}/filter/{{id}}", wrap(get_filter, browser=True))
    app.router.add_get(f"{api}/issue/{{issue}}/comment", wrap(list_comments, browser=True))
    app.router.add_post(f"{api}/issue/{{issue}}/comment", wrap(add_comment))
