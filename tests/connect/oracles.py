"""Atlassian's own Connect code as test oracles, and the rule for when they are missing.

`atlassian-jwt` (npm) runs in one long-lived node process that answers JSON lines; the
descriptor schema comes from the atlassian-connect-express tarball that `npm ci` packs.
Install both with `npm ci --prefix tests/connect/oracle`. Without them a test skips and
says why - unless the environment variable `CI` is set, where it fails instead, so a
CI run can never pass by skipping its oracles.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import pytest

ORACLE_DIR = Path(__file__).parent / "oracle"
ACE_TARBALL = ORACLE_DIR / "node_modules" / ".ace" / "atlassian-connect-express-7.5.1.tgz"
SCHEMA_MEMBER = "package/test/jira-global-schema.json"
INSTALL_HINT = "run `npm ci --prefix tests/connect/oracle`"

# Answers one JSON request per line; errors come back as {"error": message}.
_SCRIPT = r"""
const jwt = require('atlassian-jwt');
const readline = require('readline');
const lines = readline.createInterface({input: process.stdin});
lines.on('line', (line) => {
  const ask = JSON.parse(line);
  let answer;
  try {
    if (ask.op === 'canonical') {
      const req = ask.body === undefined
        ? jwt.fromMethodAndUrl(ask.method, ask.url)
        : jwt.fromMethodAndPathAndBody(ask.method, ask.url, ask.body);
      const checkBody = ask.body !== undefined;
      answer = {
        canonical: jwt.createCanonicalRequest(req, checkBody, ask.baseUrl),
        qsh: jwt.createQueryStringHash(req, checkBody, ask.baseUrl),
      };
    } else if (ask.op === 'decode') {
      answer = {claims: jwt.decodeSymmetric(ask.token, ask.secret, 'HS256')};
    } else {
      answer = {error: 'unknown op'};
    }
  } catch (e) {
    answer = {error: String(e && e.message)};
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
});
"""


def in_ci() -> bool:
    """Whether this run is CI (`CI` set to anything but empty, `0` or `false`)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false")


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason` - or fail, in CI."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so this fails instead of skipping)")
    pytest.skip(reason)


class JwtOracle:
    """Atlassian's `atlassian-jwt` npm package, asked over a pipe."""

    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None:
            unavailable("node is not installed; the atlassian-jwt oracle needs it")
        if not (ORACLE_DIR / "node_modules" / "atlassian-jwt" / "package.json").is_file():
            unavailable(f"the atlassian-jwt oracle is not installed: {INSTALL_HINT}")
        self._process = subprocess.Popen(  # noqa: S603 - a fixed script, no shell
            [node, "-e", _SCRIPT],
            cwd=ORACLE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def ask(self, **request: Any) -> dict[str, Any]:
        """One answer from the oracle."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            pytest.fail("the atlassian-jwt oracle stopped answering")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def canonical(self, method: str, url: str, base_url: str) -> str:
        """The canonical request `atlassian-jwt` computes for `method` on `url`."""
        answer = self.ask(op="canonical", method=method, url=url, baseUrl=base_url)
        assert "error" not in answer, answer
        text: str = answer["canonical"]
        return text

    def close(self) -> None:
        """Stop the node process."""
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()


def descriptor_schema() -> dict[str, Any]:
    """ACE's `test/jira-global-schema.json`, read from the packed tarball."""
    if not ACE_TARBALL.is_file():
        unavailable(f"the Connect descriptor schema is not there: {INSTALL_HINT}")
    with tarfile.open(ACE_TARBALL, "r:gz") as archive:
        member = archive.extractfile(SCHEMA_MEMBER)
        assert member is not None, "the tarball holds no schema"
        with member:
            schema: dict[str, Any] = json.load(member)
    return schema


def jsonschema_module() -> ModuleType:
    """The `jsonschema` package, when the test environment has it."""
    try:
        return importlib.import_module("jsonschema")
    except ImportError:
        unavailable("jsonschema is not installed in this environment (add it to the test extra)")
