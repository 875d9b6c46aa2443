"""The documentation as built, not as worded: docs/ builds without a Sphinx warning and holds the generated
reference of every public entry point; its includes point at real files and show every example DAG whole;
links from the README and docs/ resolve."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
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
# The public entry points (stable import paths) and the reference page that documents each.
PUBLIC = {
    "reference/operators.html": [
        "airflow_provider_seedance.operators.seedance.SeedanceGenerateVideoOperator",
        "airflow_provider_seedance.operators.batch.SeedanceBatchGenerateVideoOperator",
        "airflow_provider_seedance.operators.budget.SeedanceBudgetOperator",
    ],
    "reference/sensor.html": ["airflow_provider_seedance.sensors.seedance.SeedanceGenerationSensor"],
    "reference/trigger.html": ["airflow_provider_seedance.triggers.seedance.SeedanceTaskTrigger"],
    "reference/hook.html": ["airflow_provider_seedance.hooks.seedance.SeedanceHook"],
}


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


# ---- the build -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """docs/ built once as HTML with warnings as errors."""
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_parser")
    output = tmp_path_factory.mktemp("docs-html")
    build = subprocess.run(
        [sys.executable, "-m", "sphinx", "-E", "-W", "--keep-going", "-q", "-b", "html", str(DOCS), str(output)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-5000:]
    return output


def test_sphinx_builds_every_page_without_warnings(built):
    missing = [page for page in PAGES if not (built / page.relative_to(DOCS).with_suffix(".html")).is_file()]
    assert missing == []


@pytest.mark.parametrize(("page", "name"), [(page, name) for page, names in PUBLIC.items() for name in names])
def test_the_reference_documents_each_public_entry_point(built, page, name):
    assert f'id="{name}"' in (built / page).read_text()


def test_the_reference_documents_every_error_class(built):
    from airflow_provider_seedance import exceptions

    errors = [
        f"{exceptions.__name__}.{name}"
        for name, value in vars(exceptions).items()
        if inspect.isclass(value) and issubclass(value, exceptions.SeedanceError)
    ]
    page = (built / "reference" / "errors.html").read_text()
    assert [name for name in errors if f'id="{name}"' not in page] == []


def test_the_metrics_page_lists_every_metric_the_operators_send(built):
    from airflow_provider_seedance import metrics

    tables = re.findall(r"<table[^>]*seedance-table.*?</table>", (built / "metrics.html").read_text(), re.DOTALL)
    assert [metric.name for metric in metrics.METRICS if not any(metric.name in table for table in tables)] == []
