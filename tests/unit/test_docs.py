"""The documentation in docs/: its includes point at real files, every example DAG is shown whole by
include (never pasted), links into the README name real sections (the Sphinx build: tests/e2e/test_docs.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
# A MyST directive that includes a file: ```{literalinclude} path, then its :option: lines.
INCLUDE = re.compile(
    r"^(?:`{3,}|:{3,})\{(?P<name>literalinclude|include)\}[ \t]+(?P<path>\S+)[ \t]*\n(?P<options>(?::[\w-]+:.*\n)*)",
    re.MULTILINE,
)
# Options that show only part of an included file.
PARTIAL = {"lines", "start-at", "start-after", "end-at", "end-before", "pyobject"}
SOURCE_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
README_LINK = re.compile(re.escape(f"{SOURCE_URL}/blob/main/README.md") + r"#([\w-]+)")


def _includes() -> list[tuple[Path, str, Path, set[str]]]:
    """(page, directive, included file, option names) for every include in docs/."""
    found = []
    for page in PAGES:
        for match in INCLUDE.finditer(page.read_text()):
            path = match["path"]
            # Sphinx reads "/x" from the source folder and anything else from the page's folder.
            target = DOCS / path.lstrip("/") if path.startswith("/") else page.parent / path
            options = set(re.findall(r"^:([\w-]+):", match["options"], re.MULTILINE))
            found.append((page, match["name"], target.resolve(), options))
    return found


def _github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_every_include_points_at_an_existing_file():
    includes = _includes()
    assert includes, "no include directives found in docs/"
    missing = [f"{page.relative_to(ROOT)}: {target}" for page, _, target, _ in includes if not target.is_file()]
    assert not missing, missing


def test_every_example_dag_is_shown_whole_by_include():
    whole = {target for _, name, target, options in _includes() if name == "literalinclude" and not options & PARTIAL}
    examples = sorted((ROOT / "example_dags").glob("*.py"))
    assert examples
    assert [path.name for path in examples if path.resolve() not in whole] == []


def test_links_into_the_readme_name_its_sections():
    readme = (ROOT / "README.md").read_text()
    sections = {_github_slug(line.lstrip("#")) for line in readme.splitlines() if re.match(r"#{1,6} ", line)}
    linked = {(page.relative_to(ROOT), anchor) for page in PAGES for anchor in README_LINK.findall(page.read_text())}
    assert linked, "docs/ links to no README section"
    assert sorted(f"{page}: README.md#{anchor}" for page, anchor in linked if anchor not in sections) == []


def test_the_readme_links_to_pages_that_exist():
    targets = re.findall(r"\]\((docs/[^)#\s]+)", (ROOT / "README.md").read_text())
    assert targets, "README links to no page in docs/"
    assert [target for target in targets if not (ROOT / target).is_file()] == []
