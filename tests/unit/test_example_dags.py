"""Each example DAG parses on its own, as the DAG processor parses a file a user copied into their dags folder."""

from __future__ import annotations

import shutil

import pytest
from airflow.providers.common.compat.version_compat import AIRFLOW_V_3_1_PLUS

from tests.support.examples import EXAMPLES, _dag_bag

REVIEW = "seedance_review_and_publish.py"


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("seedance_*.py")))
def test_each_example_parses_on_its_own(tmp_path, example):
    # A user copies one example into their dags folder: it needs nothing from its siblings.
    shutil.copy(EXAMPLES / example, tmp_path / example)
    bag = _dag_bag(tmp_path)
    if example == REVIEW and not AIRFLOW_V_3_1_PLUS:
        # Airflow 3.0 has no human-in-the-loop tasks: the file fails to parse, saying so (not at run time).
        (error,) = bag.import_errors.values()
        assert "The Seedance review step needs Airflow 3.1 or later" in error
        return
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == (2 if example == REVIEW else 1)  # the review example's downstream DAG beside it
