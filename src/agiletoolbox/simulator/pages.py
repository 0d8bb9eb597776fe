"""What Jira hands the app's pages: signed iframe URLs and context tokens.

An iframe URL is the module's URL from the descriptor, relative to the app's base URL,
with its context variables filled in (`{issue.key}`, `{issue.id}`, `{project.key}`,
`{project.id}`, `{issuetype.id}`; `{ac.x}` from the host page's own `ac.x` parameter, as
Connect passes a page's additional context; unknown ones become empty), then
Jira's own parameters (`xdm_e` the site's origin, `xdm_c` the bridge channel, `cp` the
context path, `xdm_deprecated_addon_key_do_not_use`, `lic`, `cv`, `tz`, `loc`), and
last `jwt`: HS256 with the installation's shared secret, `iss` the client key, `sub`
the person, `qsh` over that very URL (every parameter but `jwt`), three minutes.

A context token (`AP.context.getToken()`) is bound to no URL: `qsh` is the literal
`context-qsh`, and its `context` names the issue and project the page is open on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from agiletoolbox.simulator.qsh import CONTEXT_QSH, percent_encode, query_string_hash
from agiletoolbox.simulator.site import Installation, Issue, Site, User
from agiletoolbox.simulator.tokens import encode_hs256

CONNECT_VERSION = "1001.0.0-SNAPSHOT"
PAGE_TOKEN_SECONDS = 180
CONTEXT_TOKEN_SECONDS = 900

_VARIABLE = re.compile(r"\{([A-Za-z0-9_.]+)\}")
_MODULE_ARRAYS = (
    "jiraIssueGlances",
    "jiraIssueContents",
    "webPanels",
    "dialogs",
    "generalPages",
    "jiraProjectPages",
    "adminPages",
    "webItems",
)
_SINGLE_MODULES = ("configurePage", "postInstallPage")


def module_url(descriptor: Mapping[str, Any], module_key: str) -> str:
    """The URL template of module `module_key`; `LookupError` when it has none."""
    modules = descriptor.get("modules")
    if not isinstance(modules, Mapping):
        modules = {}
    candidates: list[Any] = [modules.get(name) for name in _SINGLE_MODULES]
    for name in _MODULE_ARRAYS:
        entries = modules.get(name)
        candidates.extend(entries if isinstance(entries, list) else [])
    for module in candidates:
        if isinstance(module, Mapping) and module.get("key") == module_key:
            target = module.get("target")
            url = module.get("url")
            if url is None and isinstance(target, Mapping):
                url = target.get("url")
            if isinstance(url, str):
                return url
            raise LookupError(f"the module {module_key} opens no URL of its own")
    raise LookupError(f"the descriptor has no module {module_key}")


def context_values(
    issue: Issue | None,
    project: tuple[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The context variables of a page opened on `issue`, or on the project page of
    `project` (its id and key), with the host page's `ac.*` parameters (`extra`)."""
    additional = {f"ac.{name}": value for name, value in (extra or {}).items()}
    if issue is None:
        if project is None:
            return additional
        return {"project.id": project[0], "project.key": project[1], **additional}
    return {
        **additional,
        "issue.key": issue.key,
        "issue.id": issue.id,
        "issuetype.id": issue.issuetype_id,
        "project.key": issue.project_key,
        "project.id": issue.project_id,
    }


def fill(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{variable}` replaced by its encoded value (or nothing)."""
    return _VARIABLE.sub(lambda match: percent_encode(values.get(match.group(1), "")), template)


def _licensed(installation: Installation) -> bool:
    return installation.descriptor.get("enableLicensing") is True


def iframe_url(
    site: Site,
    installation: Installation,
    module_key: str,
    *,
    user: User,
    issue: Issue | None,
    now: float,
    lifetime: int = PAGE_TOKEN_SECONDS,
    project: tuple[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
) -> str:
    """The signed URL Jira puts in the iframe of `module_key` (module docstring): on
    `issue`, or on the project page of `project` with its `ac.*` parameters (`extra`)."""
    values = context_values(issue, project, extra)
    path = fill(module_url(installation.descriptor, module_key), values)
    url = installation.app_base_url.rstrip("/") + (path if path.startswith("/") else "/" + path)
    parts = urlsplit(site.base_url)
    connect = (
        ("xdm_e", f"{parts.scheme}://{parts.netloc}"),
        ("xdm_c", f"channel-{installation.app_key}__{module_key}"),
        ("cp", parts.path),
        ("xdm_deprecated_addon_key_do_not_use", installation.app_key),
        ("lic", "active" if _licensed(installation) else "none"),
        ("cv", CONNECT_VERSION),
        ("tz", user.time_zone),
        ("loc", user.locale.replace("_", "-")),
    )
    query = "&".join(f"{percent_encode(n)}={percent_encode(v)}" for n, v in connect)
    url += ("&" if "?" in url else "?") + query
    target = url[len(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}") :]
    claims = {
        "sub": user.account_id,
        "qsh": query_string_hash("GET", target, urlsplit(installation.app_base_url).path),
        "iss": site.client_key,
        "context": {},
        "exp": int(now) + lifetime,
        "iat": int(now),
    }
    return f"{url}&jwt={encode_hs256(claims, installation.shared_secret)}"


def context_token(
    site: Site,
    installation: Installation,
    *,
    user: User,
    issue: Issue | None,
    now: float,
    lifetime: int = CONTEXT_TOKEN_SECONDS,
    project: tuple[str, str] | None = None,
) -> str:
    """The token `AP.context.getToken()` gives a page of the app (module docstring); a
    project page's (`project`: its id and key) names the project alone."""
    jira: dict[str, Any] = {}
    if project is not None and issue is None:
        jira = {"project": {"id": project[0], "key": project[1]}}
    if issue is not None:
        jira = {
            "issue": {"issuetype": {"id": issue.issuetype_id}, "id": issue.id, "key": issue.key},
            "project": {"id": issue.project_id, "key": issue.project_key},
        }
    claims = {
        "sub": user.account_id,
        "qsh": CONTEXT_QSH,
        "iss": site.client_key,
        "context": {"license": {"active": _licensed(installation)}, "jira": jira},
        "exp": int(now) + lifetime,
        "iat": int(now),
    }
    return encode_hs256(claims, installation.shared_secret)
