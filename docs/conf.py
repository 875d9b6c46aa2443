"""Sphinx configuration of the user documentation: ``make docs`` builds it into docs/_build."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# The package (for the tables read from the dialects) and the local extension.
sys.path[:0] = [str(ROOT)]

project = "airflow-provider-seedance"
author = "the airflow-provider-seedance authors"
copyright = f"2026, {author}"
release = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

extensions = ["sphinx.ext.autodoc", "myst_parser"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build"]
# Links such as troubleshooting.md#a-connection-no-retry-can-fix resolve to headings, as on GitHub.
myst_heading_anchors = 3

html_theme = "alabaster"
html_title = f"{project} {release}"
# Wide enough for the support matrix tables.
html_theme_options = {"page_width": "1320px", "sidebar_width": "220px", "body_max_width": "none"}
html_static_path = ["_static"]
html_css_files = ["seedance.css"]
