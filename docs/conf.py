"""Sphinx configuration of the Agile Toolbox documentation (MyST Markdown).

Build: `sphinx-build -W --keep-going -b html docs docs/_build/html`; the library guide's
examples run with `-b doctest` (tox -e docs does both).
"""

from __future__ import annotations

import doctest
import sys
from pathlib import Path

from agiletoolbox import __version__

# The local extension that renders the OpenAPI document (docs/_ext/openapi_routes.py).
sys.path.insert(0, str(Path(__file__).parent / "_ext"))

project = "Agile Toolbox for Jira"
author = "Agile Toolbox"
copyright = "Agile Toolbox"
version = release = __version__

extensions = ["myst_parser", "sphinx.ext.doctest", "openapi_routes"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence", "deflist"]
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"{project} {release}"

# Check exception messages too (Sphinx ignores their detail by default): an example that
# shows a refusal shows the words a person reads.
doctest_default_flags = doctest.ELLIPSIS | doctest.DONT_ACCEPT_TRUE_FOR_1
