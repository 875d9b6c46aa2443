"""The README's install lines: one ``uv pip install "apache-airflow==X" airflow-provider-seedance ...`` per
Airflow line, read by the docs test (they name what CI tests) and the fresh-install test (they work as written)."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
PACKAGE = "airflow-provider-seedance"
INSTALL_LINE = re.compile(rf'^uv pip install "apache-airflow==(\S+)" {PACKAGE}(.*)$', re.MULTILINE)


def install_lines() -> dict[str, str]:
    """Each Airflow release the README installs, and the whole command that installs it."""
    return {match[1]: match[0] for match in INSTALL_LINE.finditer(README.read_text())}


def extra_requirements(command: str) -> set[str]:
    """The quoted requirements an install line adds after the package (its upper bounds)."""
    match = INSTALL_LINE.match(command)
    assert match, command
    return set(re.findall(r'"([^"]+)"', match[2]))
