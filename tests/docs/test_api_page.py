"""The API page's renderer leaves out no route, status, parameter or schema."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from agiletoolbox.adapters.http.openapi import openapi_document

EXTENSION = Path(__file__).resolve().parents[2] / "docs" / "_ext" / "openapi_routes.py"
DOCUMENT = openapi_document()
OPERATIONS = [
    (path, method)
    for path, item in DOCUMENT["paths"].items()
    for method in item
    if method != "parameters"
]


def load_extension() -> ModuleType:
    spec = importlib.util.spec_from_file_location("openapi_routes", EXTENSION)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PAGE: str = load_extension().render(DOCUMENT)


def section(title: str) -> str:
    """The text under a level-3 heading, up to the next heading."""
    start = PAGE.index(f"### {title}\n")
    following = PAGE.find("\n#", start + 1)
    return PAGE[start : following if following != -1 else None]


@pytest.mark.parametrize(("path", "method"), OPERATIONS)
def test_every_route_shows_its_parameters_body_and_statuses(path: str, method: str) -> None:
    operation = DOCUMENT["paths"][path][method]
    text = section(f"{method.upper()} `{path}`")
    assert operation["summary"] in text
    for status in operation["responses"]:
        assert f"- `{status}`" in text
    parameters = [*DOCUMENT["paths"][path].get("parameters", ()), *operation.get("parameters", ())]
    for parameter in parameters:
        assert f"- `{parameter['name']}` ({parameter['in']}" in text
    body = operation.get("requestBody")
    if body is not None:
        name = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        assert f"**Body** (`application/json`): {{ref}}`{name} <" in text


@pytest.mark.parametrize("name", sorted(DOCUMENT["components"]["schemas"]))
def test_every_schema_lists_its_properties(name: str) -> None:
    schema = DOCUMENT["components"]["schemas"][name]
    text = section(name)
    variants = schema.get("oneOf", [schema])
    for variant in variants:
        for key in variant.get("properties", {}):
            assert f"`{key}`" in text, f"{name}.{key} is missing"
