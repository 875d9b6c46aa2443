"""The documentation's sources, checked without building it: docs/ includes point at real files and show every
example DAG whole; links from the README and docs/ resolve; the README stays a front page whose install lines
match what CI installs (the build and the README's DAG run: tests/e2e/test_docs.py)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from tests.support.readme import extra_requirements, install_lines

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
# The README is the front page; docs/ is the manual (issue 21).
README_MAX_LINES = 250
# A MyST directive that includes a file: ```{literalinclude} path, then its :option: lines.
INCLUDE = re.compile(
    r"^(?:`{3,}|:{3,})\{(?P<name>literalinclude|include)\}[ \t]+(?P<path>\S+)[ \t]*\n(?P<options>(?::[\w-]+:.*\n)*)",
    re.MULTILINE,
)
# Options that show only part of an included file.
PARTIAL = {"lines", "start-at", "start-after", "end-at", "end-before", "pyobject"}
SOURCE_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Source"]
# A link to a file of this repository on GitHub, with its anchor if any.
REPO_LINK = re.compile(re.escape(f"{SOURCE_URL}/blob/main/") + r"(?P<path>[^)#\s>]+)(?:#(?P<anchor>[\w-]+))?")
# A relative Markdown link from the README into docs/.
README_DOCS_LINK = re.compile(r"\]\((?P<path>docs/[^)#\s]+)(?:#(?P<anchor>[\w-]+))?\)")


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
    """The anchor GitHub (and MyST, with myst_heading_anchors) gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(markdown: Path) -> set[str]:
    """The anchors of a Markdown file's headings, outside fenced code blocks."""
    text = re.sub(r"^(`{3,}).*?^\1", "", markdown.read_text(), flags=re.MULTILINE | re.DOTALL)
    return {_github_slug(line.lstrip("#")) for line in text.splitlines() if re.match(r"#{1,6} ", line)}


# ---- sources -----------------------------------------------------------------------------------------


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


def test_links_into_the_repository_name_files_and_sections_that_exist():
    links = [(page, match) for page in [README, *PAGES] for match in REPO_LINK.finditer(page.read_text())]
    broken = []
    for page, match in links:
        target = ROOT / match["path"]
        if not target.is_file():
            broken.append(f"{page.relative_to(ROOT)}: {match['path']} does not exist")
        elif match["anchor"] and target.suffix == ".md" and match["anchor"] not in _anchors(target):
            broken.append(f"{page.relative_to(ROOT)}: {match['path']} has no section #{match['anchor']}")
    assert broken == []


def test_the_readme_links_to_pages_and_sections_that_exist():
    links = list(README_DOCS_LINK.finditer(README.read_text()))
    assert links, "README links to no page in docs/"
    broken = []
    for match in links:
        target = ROOT / match["path"]
        if not target.is_file():
            broken.append(f"{match['path']} does not exist")
        elif match["anchor"] and match["anchor"] not in _anchors(target):
            broken.append(f"{match['path']} has no section #{match['anchor']}")
    assert broken == []


# ---- the README is a front page ----------------------------------------------------------------------


def test_the_readme_is_a_front_page():
    lines = len(README.read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; the manual belongs in docs/"


def _pinned_airflow(path: Path) -> str:
    found = re.search(r"^apache-airflow==(\S+)", path.read_text(), flags=re.MULTILINE)
    assert found, f"{path} pins no apache-airflow"
    return found.group(1)


def _line(release: str) -> str:
    return ".".join(release.split(".")[:2])


def test_the_readme_installs_what_ci_tests_on_each_airflow_line():
    """Each line's install command names the newest release CI runs on that line, with the upper bounds that
    release's requirements add: those of its requirements/matrix/*.in, none for requirements/dev.lock."""
    from packaging.version import Version

    sources = [(ROOT / "requirements" / "dev.lock", set())]
    for requirements in sorted((ROOT / "requirements" / "matrix").glob("*.in")):
        bounds = set(re.findall(r"^([\w.-]+<[\w.]+)\s*$", requirements.read_text(), flags=re.MULTILINE))
        sources.append((requirements, bounds))
    tested: dict[str, tuple[str, set[str]]] = {}  # Airflow line -> (newest release CI runs, its upper bounds)
    for path, bounds in sources:
        release = _pinned_airflow(path)
        if _line(release) not in tested or Version(release) > Version(tested[_line(release)][0]):
            tested[_line(release)] = (release, bounds)

    installed = {_line(release): (release, extra_requirements(line)) for release, line in install_lines().items()}
    assert installed == tested


def test_the_generated_tables_in_the_pages_match_the_code_and_locks():
    """docs/tables.py writes them as Markdown (readable on a code host); a change to a dialect, a metric, a lock
    file or .ci/matrix must come with ``make docs-tables``."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("docs_tables", DOCS / "tables.py")
    assert spec is not None
    assert spec.loader is not None
    tables = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tables)
    for name in tables.PAGES:
        page = (ROOT / name).read_text()
        assert tables.BLOCK.search(page), f"{name} asks for no generated table"
        assert tables.regenerated(page) == page, f"{name}: a generated table is out of date; run make docs-tables"
