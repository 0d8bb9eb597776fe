"""Render the product's OpenAPI document into the pages that ask for it.

A page asks with an empty `openapi-document` directive. Before MyST reads the page, the
directive is replaced with Markdown made from `openapi_document()` (the very builder that
serves `/api/openapi.json`): the authentication schemes, every route with its parameters,
body and statuses, then every schema. The page is read again on every build, so it cannot
fall behind the code. Without this extension the directive is unknown and a build with
warnings as errors fails, so the routes never silently go missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agiletoolbox.adapters.http.openapi import openapi_document

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

MARKER = "```{openapi-document}\n```"
METHODS = ("get", "put", "post", "patch", "delete")
Schema = Mapping[str, Any]


def _anchor(name: str) -> str:
    return f"schema-{name.lower()}"


def _link(reference: str) -> str:
    name = reference.rsplit("/", 1)[-1]
    return f"{{ref}}`{name} <{_anchor(name)}>`"


def _value(value: object) -> str:
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _limits(schema: Schema) -> list[str]:
    """The constraints of a schema beyond its type, in words."""
    words: list[str] = []
    for low, high, unit in (
        ("minLength", "maxLength", "characters"),
        ("minItems", "maxItems", "items"),
        ("minimum", "maximum", ""),
    ):
        if low in schema and high in schema:
            words.append(f"{schema[low]} to {schema[high]} {unit}".rstrip())
        elif low in schema:
            words.append(f"at least {schema[low]} {unit}".rstrip())
        elif high in schema:
            words.append(f"at most {schema[high]} {unit}".rstrip())
    if "pattern" in schema:
        words.append(f"matching `{schema['pattern']}`")
    if "format" in schema:
        words.append(f"format {schema['format']}")
    return words


def describe(schema: Schema) -> str:
    """A schema's type in a few words (an object's properties are listed separately)."""
    if "$ref" in schema:
        return _link(schema["$ref"])
    if "const" in schema:
        return _value(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(_value(item) for item in schema["enum"])
    branches = schema.get("anyOf") or schema.get("oneOf")
    if branches:
        return " or ".join(describe(branch) for branch in branches)
    kind = schema.get("type")
    if kind is None:
        return schema.get("description", "any JSON value")
    if isinstance(kind, list):
        text = " or ".join(kind)
    elif kind == "array":
        text = f"array of {describe(schema.get('items', {}))}"
    elif kind == "object" and "properties" not in schema:
        values = schema.get("additionalProperties")
        text = f"object of {describe(values)}" if isinstance(values, Mapping) else "object"
    else:
        text = kind
    limits = _limits(schema)
    return f"{text}, {', '.join(limits)}" if limits else text


def _object_inside(schema: Schema) -> Schema | None:
    """The inline object whose properties a line about `schema` should list below it."""
    if "properties" in schema:
        return schema
    if schema.get("type") == "array":
        return _object_inside(schema.get("items", {}))
    for branch in schema.get("anyOf", ()):
        found = _object_inside(branch)
        if found is not None:
            return found
    return None


def properties(schema: Schema, depth: int = 0, skip: str | None = None) -> Iterator[str]:
    """One bullet per property (required or not, type, constraints), nested objects below."""
    indent = "  " * depth
    required = set(schema.get("required", ()))
    for name, sub in schema.get("properties", {}).items():
        if name == skip:
            continue
        need = "required" if name in required else "optional"
        line = f"{indent}- `{name}` ({need}): {describe(sub)}"
        if "description" in sub and "type" in sub:
            line += f". {sub['description']}"
        yield line
        inside = _object_inside(sub)
        if inside is not None and inside is not schema:
            yield from properties(inside, depth + 1)


def schema_body(schema: Schema) -> Iterator[str]:
    """A component schema: its variants (`oneOf`), its properties, or its type."""
    if "oneOf" in schema:
        yield "One of:"
        yield ""
        for variant in schema["oneOf"]:
            tag = next((k for k, v in variant.get("properties", {}).items() if "const" in v), None)
            if tag is None:
                yield f"- {describe(variant)}"
                yield from properties(variant, depth=1)
            else:
                yield f"- `{tag}` = {_value(variant['properties'][tag]['const'])}"
                yield from properties(variant, depth=1, skip=tag)
    elif "properties" in schema:
        yield from properties(schema)
    else:
        yield f"A {describe(schema)}."
    if schema.get("additionalProperties") is False:
        yield ""
        yield "No other property is accepted."


def _security(document: Schema, operation: Schema) -> str:
    chosen = operation.get("security", document.get("security", []))
    if not chosen:
        return "none (public)"
    names = [name for requirement in chosen for name in requirement]
    return " or ".join(f"[{name}](#auth-{name.lower()})" for name in names)


def route(document: Schema, path: str, method: str, shared: list[Schema]) -> Iterator[str]:
    """One route: summary, description, authentication, parameters, body, statuses."""
    operation = document["paths"][path][method]
    yield f"### {method.upper()} `{path}`"
    yield ""
    yield operation["summary"] + "."
    yield ""
    if "description" in operation:
        yield operation["description"]
        yield ""
    yield f"**Authentication**: {_security(document, operation)}."
    yield ""
    parameters = [*shared, *operation.get("parameters", ())]
    if parameters:
        yield "**Parameters**:"
        yield ""
        for parameter in parameters:
            need = "required" if parameter.get("required") else "optional"
            yield (
                f"- `{parameter['name']}` ({parameter['in']}, {need}): "
                f"{describe(parameter['schema'])}. {parameter['description']}"
            )
        yield ""
    body = operation.get("requestBody")
    if body is not None:
        for media, content in body["content"].items():
            yield f"**Body** (`{media}`): {describe(content['schema'])}."
        yield ""
    yield "**Answers**:"
    yield ""
    for status, answer in operation["responses"].items():
        schemas = [describe(c["schema"]) for c in answer.get("content", {}).values()]
        shape = f" ({', '.join(schemas)})" if schemas else ""
        yield f"- `{status}`{shape}: {answer['description']}"
    yield ""


def render(document: Schema) -> str:
    """The whole document as MyST Markdown (level-2 headings and below)."""
    lines = [document["info"]["description"], ""]
    lines += ["## Authentication", ""]
    for name, scheme in document["components"]["securitySchemes"].items():
        lines += [f"(auth-{name.lower()})=", f"### `{name}`", "", scheme["description"], ""]
    lines += ["## Routes", ""]
    for path, item in document["paths"].items():
        shared = item.get("parameters", [])
        for method in METHODS:
            if method in item:
                lines += route(document, path, method, shared)
    lines += ["## Schemas", ""]
    for name, schema in document["components"]["schemas"].items():
        lines += [f"({_anchor(name)})=", f"### {name}", "", *schema_body(schema), ""]
    return "\n".join(lines)


def _fill(app: Sphinx, docname: str, source: list[str]) -> None:
    if MARKER in source[0]:
        source[0] = source[0].replace(MARKER, render(openapi_document()))


def _always_reread(
    _app: Sphinx, env: BuildEnvironment, _added: set[str], _changed: set[str], _removed: set[str]
) -> list[str]:
    """Pages that render the document are read on every build: the code may have changed."""
    return [
        docname
        for docname in env.found_docs
        if MARKER in Path(env.doc2path(docname)).read_text(encoding="utf-8")
    ]


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the source filter."""
    app.connect("source-read", _fill)
    app.connect("env-get-outdated", _always_reread)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
