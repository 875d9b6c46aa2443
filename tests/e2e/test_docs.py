"""The documentation as built and run: docs/ builds without a Sphinx warning and holds the generated reference of
every public entry point, and the README's example DAG runs with the testing guide's recipe (the sources'
checks: tests/unit/test_docs.py)."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = sorted(DOCS.rglob("*.md"))
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


def _readme_dag() -> str:
    """The README's example DAG: its only Python block."""
    blocks = re.findall(r"^```python\n(.*?)^```", README.read_text(), flags=re.MULTILINE | re.DOTALL)
    assert len(blocks) == 1, "the README shows one example DAG"
    return blocks[0]


def test_the_readme_dag_runs_with_the_testing_guides_recipe(tmp_path):
    """The README's DAG under docs/examples/test_video_dag.py, as the testing guide tells users to run theirs: a
    fresh AIRFLOW_HOME, the simulator and moto's S3 server, in a pytest process of its own."""
    pytest.importorskip("moto")
    dag = _readme_dag()
    bucket = re.search(r'output_path="s3://([^/"]+)/', dag)
    assert bucket, "the README's DAG writes to no s3:// bucket"
    dag_file = tmp_path / "readme_dag.py"
    dag_file.write_text(dag)
    # Nothing of this suite's Airflow setup: the recipe sets its own.
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AIRFLOW", "SEEDANCE_"))}
    env.update(DAG_FILE=str(dag_file), BUCKET=bucket.group(1))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(DOCS / "examples" / "test_video_dag.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-5000:]


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
    from airflow_provider_seedance.observability import metrics

    tables = re.findall(r"<table.*?</table>", (built / "metrics.html").read_text(), re.DOTALL)
    assert [metric.name for metric in metrics.METRICS if not any(metric.name in table for table in tables)] == []
