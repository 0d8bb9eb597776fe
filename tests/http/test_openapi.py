"""`/api/openapi.json` is valid OpenAPI 3.1 and says what the code does.

The document lists exactly the app's `/api` routes; every answer of a scripted session
(REST and socket) validates against the schema documented for its route and status; and
every request-body schema accepts and refuses the same shapes as the code's converter.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi

from agiletoolbox.adapters.http.openapi import openapi_document
from agiletoolbox.adapters.http.openapi_schemas import (
    ACCOUNT_ID_PATTERN,
    BODIES,
    FIELD_ID_PATTERN,
    ISSUE_KEY_PATTERN,
    ISSUE_TYPE_ID_PATTERN,
    ROOM_ID_PATTERN,
    body_schema,
    view_schemas,
)
from agiletoolbox.adapters.http.wire import (
    BodyError,
    CardBody,
    ConfigBody,
    CreateRoomBody,
    CreateSessionBody,
    CurrentBody,
    DeckBody,
    EstimateBody,
    JoinBody,
    MoveBody,
    RoundBody,
    SessionIssuesBody,
    TimerBody,
    VoteBody,
    structure,
)
from agiletoolbox.domain.errors import InvalidValue
from agiletoolbox.domain.ids import AccountId, FieldId, IssueKey, IssueTypeId, RoomId, TenantKey
from tests.http.kit import TENANT_A, Backend, auth, scoped
from tests.unit.roomkit import ANA, BEN, CAI, DEE, STORY_POINTS

ANA_A = auth(TENANT_A, ANA)
BEN_A = auth(TENANT_A, BEN)
CAI_A = auth(TENANT_A, CAI)
DEE_A = auth(TENANT_A, DEE)
METHODS = ("get", "put", "post", "delete", "patch")


class Contract:
    """The document, and a check of one answer against what it documents."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.seen: set[tuple[str, str, int]] = set()
        self._templates = [
            (re.compile("^" + re.sub(r"\{[^/]+\}", "[^/]+", path) + "$"), path)
            for path in document["paths"]
        ]

    def validator(self, schema: dict[str, Any]) -> Draft202012Validator:
        """A validator of `schema` whose `#/components/...` references resolve."""
        rooted = {**schema, "components": self.document["components"]}
        return Draft202012Validator(rooted, format_checker=Draft202012Validator.FORMAT_CHECKER)

    def schema(self, name: str) -> Draft202012Validator:
        """A validator of the component schema `name`."""
        return self.validator({"$ref": f"#/components/schemas/{name}"})

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        """The documented template and operation of a concrete request."""
        for pattern, template in self._templates:
            if pattern.match(path):
                operations = self.document["paths"][template]
                assert method in operations, f"{method} {template} is not documented"
                operation: dict[str, Any] = operations[method]
                return template, operation
        raise AssertionError(f"{path} is not documented")

    def check(self, method: str, path: str, status: int, body: Any, sent: Any = None) -> None:
        """The answer's status is documented and its body has the documented shape."""
        template, operation = self.operation(method, path)
        answers = operation["responses"]
        assert str(status) in answers, f"{method} {template} answered {status}: undocumented"
        content = answers[str(status)].get("content")
        if content is not None:
            self.validator(content["application/json"]["schema"]).validate(body)
        if sent is not None and status < 300:
            # A body the code took must be one the document allows.
            request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
            self.validator(request_schema).validate(sent)
        self.seen.add((method, template, status))


class Session:
    """A test client that checks every answer against the contract."""

    def __init__(self, client: TestClient, contract: Contract) -> None:
        self.client = client
        self.contract = contract

    async def call(
        self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> tuple[int, Any]:
        async with self.client.request(method, path, headers=headers, **kwargs) as response:
            body = await response.json() if response.content_type == "application/json" else None
            self.contract.check(method.lower(), path, response.status, body, kwargs.get("json"))
            return response.status, body

    async def ok(
        self, method: str, path: str, headers: dict[str, str], status: int = 200, **kwargs: Any
    ) -> Any:
        answered, body = await self.call(method, path, headers, **kwargs)
        assert answered == status, body
        return body


@pytest.fixture
def contract() -> Contract:
    return Contract(openapi_document())


@pytest.fixture
def session(client: TestClient, contract: Contract) -> Session:
    return Session(client, contract)


async def test_the_served_document_is_valid_openapi_3_1(client: TestClient) -> None:
    response = await client.get("/api/openapi.json")  # no credential needed
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    document = await response.json()
    assert document == openapi_document()
    assert document["openapi"].startswith("3.1.")
    validate_openapi(copy.deepcopy(document))


def test_every_api_route_is_documented_and_nothing_else(backend: Backend) -> None:
    app = backend.app()
    registered = {
        (route.resource.canonical, route.method.lower())
        for route in app.router.routes()
        # HEAD answers every GET by HTTP's rules; OpenAPI does not repeat it.
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    document = openapi_document()
    documented = {
        (path, method)
        for path, operations in document["paths"].items()
        for method in operations
        if method in METHODS
    }
    assert registered == documented
    assert not set(BODIES.values()) & set(view_schemas()), "a body and a view share a name"
    for path, operations in document["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        declared = {p["name"] for p in operations.get("parameters", []) if p["in"] == "path"}
        assert names == declared, path


def test_every_operation_documents_its_failures() -> None:
    document = openapi_document()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if method not in METHODS or operation.get("security") == []:
                continue
            assert {"401", "403", "503"} <= set(operation["responses"]), (method, path)
            if "{room_id}" in path:
                assert "404" in operation["responses"], (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= set(operation["responses"])


def ecma(pattern: str) -> re.Pattern[str]:
    """A documented `^...$` pattern as JSON Schema reads it (`$` is the very end)."""
    return re.compile(pattern.removeprefix("^").removesuffix("$"))


@settings(max_examples=50, deadline=None)
@given(st.data())
def test_the_documented_id_patterns_are_the_domains(data: st.DataObject) -> None:
    for pattern, kind in (
        (ISSUE_KEY_PATTERN, IssueKey),
        (ROOM_ID_PATTERN, RoomId),
        (FIELD_ID_PATTERN, FieldId),
        (ISSUE_TYPE_ID_PATTERN, IssueTypeId),
        (ACCOUNT_ID_PATTERN, AccountId),
    ):
        documented = ecma(pattern)
        matching = data.draw(
            st.from_regex(documented, fullmatch=True).filter(lambda s: len(s) < 256)
        )
        kind(matching)
        other = data.draw(st.one_of(st.text(max_size=70), st.from_regex(documented)))
        try:
            kind(other)
        except InvalidValue:
            assert not documented.fullmatch(other) or len(other) > 255
        else:
            assert documented.fullmatch(other)


async def test_every_answer_of_a_session_has_its_documented_shape(
    session: Session, contract: Contract, backend: Backend
) -> None:
    api = "/api/rooms"
    assert (await session.call("GET", api, params={"issueKey": "DEMO-1"}))[0] == 401
    nobody = auth(TenantKey("nobody"), ANA)
    assert (await session.call("GET", api, nobody, params={"issueKey": "DEMO-1"}))[0] == 403
    assert (await session.call("GET", api, ANA_A, params={"issueKey": "DEMO-1"}))[0] == 204
    assert (await session.call("GET", api, ANA_A, params={"issueKey": "demo"}))[0] == 422
    room = await session.ok(
        "POST",
        api,
        scoped(ANA_A, "DEMO-1"),
        201,
        json={"issueKey": "DEMO-1", "fieldId": str(STORY_POINTS)},
    )
    base = f"{api}/{room['id']}"
    assert (await session.call("POST", api, scoped(BEN_A, "DEMO-1"), json={"issueKey": "DEMO-1"}))[
        0
    ] == 409
    # Only a token issued for the issue opens its room, and only for an issue Jira shows.
    assert (await session.call("POST", api, BEN_A, json={"issueKey": "DEMO-5"}))[0] == 403
    missing = {"issueKey": "DEMO-99"}
    assert (await session.call("POST", api, scoped(BEN_A, "DEMO-99"), json=missing))[0] == 404
    raw = {**ANA_A, "Content-Type": "application/json"}
    assert (await session.call("POST", api, raw, data=b"{"))[0] == 400
    assert (await session.call("POST", api, raw, data=b"{" + b" " * 70_000 + b"}"))[0] == 413
    text = {**ANA_A, "Content-Type": "text/plain"}
    assert (await session.call("POST", api, text, data=b"x"))[0] == 415
    await session.ok("GET", api, BEN_A, params={"issueKey": "DEMO-1"})
    await session.ok("POST", f"{base}/join", BEN_A, json={"role": "voter"})
    await session.ok("POST", f"{base}/join", CAI_A, json={"role": "observer"})
    await session.ok("POST", f"{base}/join", DEE_A, json={})
    assert (await session.call("PUT", f"{base}/vote", CAI_A, json={"card": "3"}))[0] == 403
    await session.ok("PUT", f"{base}/vote", ANA_A, json={"card": "3"})
    await session.ok("PUT", f"{base}/vote", BEN_A, json={"card": "8"})
    await session.ok("DELETE", f"{base}/vote", BEN_A)
    masked = await session.ok("PUT", f"{base}/vote", BEN_A, json={"card": "5"})
    assert [p["card"] for p in masked["participants"]] == [None, "5", None, None]
    await session.ok("PUT", f"{base}/vote", DEE_A, json={"card": "?"})
    assert (await session.call("POST", f"{base}/reveal", BEN_A))[0] == 403
    revealed = await session.ok("POST", f"{base}/reveal", ANA_A)
    assert revealed["results"]["specials"] == {"?": 1}
    backend.jira.fail_writes = 1
    assert (await session.call("POST", f"{base}/estimate", ANA_A, json={"value": 5}))[0] == 503
    estimated = await session.ok("POST", f"{base}/estimate", ANA_A, json={"value": 5})
    assert estimated["estimate"]["written"] is True
    reset = await session.ok("POST", f"{base}/reset", ANA_A)
    assert reset["history"][0]["results"]["count"] == 2
    assert (await session.call("POST", f"{base}/reveal", ANA_A))[0] == 409
    await session.ok("PATCH", base, ANA_A, json={"deck": "t-shirt", "valueMap": {"S": 2, "M": 3}})
    custom = {"name": "custom", "cards": [{"label": "S", "value": 1}, {"label": "L"}]}
    await session.ok("PATCH", base, ANA_A, json={"deck": custom, "persistent": True})
    assert (await session.call("PATCH", base, ANA_A, json={"deck": "tarot"}))[0] == 422
    await session.call("POST", f"{base}/take-control", BEN_A)
    await session.ok(
        "POST",
        api,
        scoped(ANA_A, "DEMO-2"),
        201,
        json={"issueKey": "DEMO-2", "deck": "linear", "saveAsDefault": True, "issueTypeId": "1"},
    )
    defaults = {"issueKey": "DEMO-7", "issueTypeId": "1"}
    saved = await session.ok("GET", "/api/defaults", ANA_A, params=defaults)
    assert saved["defaults"]["deck"]["name"] == "linear"
    await session.ok("GET", "/api/defaults", BEN_A, params=defaults)
    await session.ok("POST", f"{base}/leave", CAI_A)
    await play_over_the_socket(session, contract, base)
    assert (await session.call("GET", f"{base}/live", ANA_A))[0] == 400
    assert (await session.call("GET", f"{base}/live", params={"ticket": "x.y"}))[0] == 401
    await session.ok("DELETE", base, ANA_A)
    assert (await session.call("POST", f"{base}/ticket", ANA_A))[0] == 404
    await session.ok("GET", "/api/openapi.json", {})
    statuses = {status for _, _, status in contract.seen}
    assert statuses >= {200, 201, 400, 401, 403, 404, 409, 413, 415, 422, 503}


async def test_every_answer_of_the_session_api_has_its_documented_shape(
    session: Session, contract: Contract
) -> None:
    """A refinement session from start to removal; every answer checked against the
    document by `session.call`."""
    api = "/api/sessions"
    demo = scoped(ANA_A, "DEMO-1")  # a token for an issue of DEMO: for the project too
    other = scoped(BEN_A, "OPS-1")
    assert (await session.call("GET", api, other, params={"projectKey": "DEMO"}))[0] == 403
    assert (await session.call("GET", api, demo, params={"projectKey": "demo"}))[0] == 422
    assert (await session.ok("GET", api, demo, params={"projectKey": "DEMO"})) == {"sessions": []}
    body = {"projectKey": "DEMO", "issueKeys": ["DEMO-1", "DEMO-2", "DEMO-3"], "deck": "t-shirt"}
    assert (await session.call("POST", api, other, json=body))[0] == 403
    bad = {**body, "issueKeys": ["DEMO-1", "OPS-1"]}
    assert (await session.call("POST", api, demo, json=bad))[0] == 422
    opened = await session.ok("POST", api, demo, 201, json=body)
    assert [i["issueKey"] for i in opened["issues"]] == ["DEMO-1", "DEMO-2", "DEMO-3"]
    assert opened["config"]["deck"]["name"] == "t-shirt"
    base = f"{api}/{opened['id']}"
    assert (await session.call("GET", base, other))[0] == 403
    listed = await session.ok("GET", api, scoped(BEN_A, "DEMO-2"), params={"projectKey": "DEMO"})
    assert [(s["id"], s["issues"], s["estimated"]) for s in listed["sessions"]] == [
        (opened["id"], 3, 0)
    ]
    assert (await session.call("POST", f"{base}/next", scoped(BEN_A, "DEMO-1")))[0] == 403
    moved = await session.ok("POST", f"{base}/next", demo)
    assert moved["current"] == "DEMO-1"
    assert moved["room"]["issueKey"] == "DEMO-1"
    assert moved["issues"][0]["roomId"] == moved["room"]["id"]
    await session.ok("POST", f"{base}/issues", demo, json={"issueKeys": ["DEMO-4"], "position": 0})
    await session.ok("POST", f"{base}/move", demo, json={"issueKey": "DEMO-4", "position": 3})
    skipped = await session.ok("POST", f"{base}/skip", demo)
    assert skipped["current"] == "DEMO-2"
    await session.ok("POST", f"{base}/current", demo, json={"issueKey": "DEMO-3"})
    await session.ok("DELETE", f"{base}/issues/DEMO-4", demo)
    await session.ok("PATCH", base, demo, json={"autoReveal": True})
    finished = await session.ok("POST", f"{base}/finish", demo)
    assert finished["state"] == "finished"
    assert (await session.call("POST", f"{base}/next", demo))[0] == 409
    assert (await session.ok("DELETE", base, demo)) == {"removed": opened["id"]}
    assert (await session.call("GET", base, demo))[0] == 404


async def play_over_the_socket(session: Session, contract: Contract, base: str) -> None:
    """Every socket command, each message checked against `LiveCommand`/`LiveMessage`."""
    ticket = await session.ok("POST", f"{base}/ticket", ANA_A)
    commands: list[dict[str, Any]] = [
        {"op": "join", "role": "voter"},
        {"op": "vote", "card": "S"},
        {"op": "withdraw"},
        {"op": "vote", "card": "L"},
        {"op": "reveal"},
        {"op": "estimate", "value": "L"},
        {"op": "reset"},
        {"op": "configure", "autoReveal": True},
        {"op": "take-control"},
        {"op": "sync", "version": 1},
        {"op": "leave"},
        {"op": "reveal", "extra": 1},
    ]
    sent, received = contract.schema("LiveCommand"), contract.schema("LiveMessage")
    async with session.client.ws_connect(f"{base}/live", params={"ticket": ticket["ticket"]}) as ws:
        for n, command in enumerate(commands):
            message = {**command, "id": f"c{n}"}
            assert sent.is_valid(message) == ("extra" not in command), message
            await ws.send_json(message)
        answers: dict[str, dict[str, Any]] = {}
        while len(answers) < len(commands):
            answer = await asyncio.wait_for(ws.receive_json(), timeout=5)
            received.validate(answer)
            if "ack" in answer:
                answers[answer["ack"]] = answer
            elif answer["type"] not in ("room", "patch"):
                answers[answer["id"]] = answer
        assert answers[f"c{len(commands) - 1}"]["error"]["status"] == 422
        await ws.close()
    assert ws.close_code in (aiohttp.WSCloseCode.OK, None)


# -- request bodies: the schema and the converter agree -------------------------------------

MINIMAL: dict[type, dict[str, Any]] = {
    CardBody: {"label": "S"},
    DeckBody: {"name": "custom", "cards": [{"label": "S"}]},
    ConfigBody: {},
    CreateRoomBody: {"issueKey": "DEMO-1"},
    JoinBody: {},
    VoteBody: {"card": "5"},
    RoundBody: {},
    TimerBody: {"seconds": 60},
    EstimateBody: {"value": "5"},
    CreateSessionBody: {"projectKey": "DEMO"},
    SessionIssuesBody: {"issueKeys": ["DEMO-1"]},
    MoveBody: {"issueKey": "DEMO-1", "position": 0},
    CurrentBody: {"issueKey": "DEMO-1"},
}
ROUTE_OF: dict[type, tuple[str, str]] = {
    CreateRoomBody: ("POST", "/api/rooms"),
    ConfigBody: ("PATCH", "/api/rooms/{room_id}"),
    JoinBody: ("POST", "/api/rooms/{room_id}/join"),
    VoteBody: ("PUT", "/api/rooms/{room_id}/vote"),
    RoundBody: ("POST", "/api/rooms/{room_id}/reset"),
    TimerBody: ("POST", "/api/rooms/{room_id}/timer"),
    EstimateBody: ("POST", "/api/rooms/{room_id}/estimate"),
}


def shapes_only(contract: Contract, kind: type) -> Draft202012Validator:
    """The body's schema without the domain's refinements: what the converter checks."""
    plain = {name: body_schema(other, refined=False) for other, name in BODIES.items()}
    return Draft202012Validator(
        {**plain[BODIES[kind]], "components": {"schemas": plain}},
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def refused_by_code(body: object, kind: type) -> list[str] | None:
    try:
        structure(body, kind)
    except BodyError as error:
        return error.details
    return None


@pytest.mark.parametrize("kind", list(BODIES), ids=lambda kind: BODIES[kind])
def test_an_extra_key_is_refused_by_schema_and_code(contract: Contract, kind: type) -> None:
    schema = contract.schema(BODIES[kind])
    assert schema.is_valid(MINIMAL[kind])
    assert refused_by_code(MINIMAL[kind], kind) is None
    extra = {**MINIMAL[kind], "unexpected": 1}
    assert not schema.is_valid(extra)
    assert refused_by_code(extra, kind) == ["unknown fields (unexpected) @ body"]
    for name in contract.document["components"]["schemas"][BODIES[kind]]["properties"]:
        details = refused_by_code({**MINIMAL[kind], name: None}, kind) or []
        assert not any(d.startswith("unknown fields") for d in details), (name, details)


@pytest.mark.parametrize("kind", list(ROUTE_OF), ids=lambda kind: BODIES[kind])
async def test_an_extra_key_is_refused_over_http(
    session: Session, contract: Contract, kind: type
) -> None:
    room = await session.ok(
        "POST", "/api/rooms", scoped(ANA_A, "DEMO-3"), 201, json={"issueKey": "DEMO-3"}
    )
    method, template = ROUTE_OF[kind]
    path = template.replace("{room_id}", room["id"])
    status, body = await session.call(method, path, ANA_A, json={**MINIMAL[kind], "zz": 1})
    assert status == 422
    assert body["error"]["details"] == ["unknown fields (zz) @ body"]
    nested = {"issueKey": "DEMO-4", "deck": {"cards": [{"label": "S", "zz": 1}]}}
    status, body = await session.call("POST", "/api/rooms", ANA_A, json=nested)
    assert status == 422
    assert not contract.schema("CreateRoom").is_valid(nested)


VALUES = st.sampled_from(
    [
        None,
        True,
        0,
        2.5,
        -1,
        "",
        "5",
        "voter",
        "fibonacci",
        [],
        [{"label": "S"}],
        [{"label": 3}],
        {},
        {"S": 1},
        {"S": "1"},
        {"name": "custom", "cards": [{"label": "S", "value": 1}]},
        {"name": "custom"},
    ]
)


@pytest.mark.parametrize("kind", list(BODIES), ids=lambda kind: BODIES[kind])
@settings(max_examples=150, derandomize=True, deadline=None)
@given(data=st.data())
def test_the_schema_and_the_converter_accept_the_same_shapes(
    kind: type, data: st.DataObject
) -> None:
    contract = Contract(openapi_document())
    names = [*contract.document["components"]["schemas"][BODIES[kind]]["properties"], "other"]
    body = data.draw(st.dictionaries(st.sampled_from(names), VALUES, max_size=4))
    shapes = shapes_only(contract, kind)
    refused = refused_by_code(body, kind)
    assert (refused is None) == shapes.is_valid(body), (body, refused)
    if contract.schema(BODIES[kind]).is_valid(body):
        assert refused is None


@pytest.mark.parametrize("cards", ["", {}], ids=["text", "object"])
def test_a_card_list_must_be_an_array(cards: object) -> None:
    assert refused_by_code({"cards": cards}, DeckBody) is not None


def all_schemas(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from all_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_schemas(value)


def test_every_object_of_the_views_is_closed() -> None:
    """New view fields must be documented: every object schema forbids undocumented keys."""
    schemas = openapi_document()["components"]["schemas"]
    for name, schema in schemas.items():
        for node in all_schemas(schema):
            if node.get("type") == "object" and "properties" in node:
                assert node.get("additionalProperties") is False, name
