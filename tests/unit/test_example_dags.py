"""Each example DAG parses on its own, as the DAG processor parses a file a user copied into their dags folder."""

from __future__ import annotations

import shutil

import pytest

from tests.support.examples import EXAMPLES, _dag_bag


@pytest.mark.parametrize("example", sorted(path.name for path in EXAMPLES.glob("seedance_*.py")))
def test_each_example_parses_on_its_own(tmp_path, example):
    # A user copies one example into their dags folder: it needs nothing from its siblings.
    shutil.copy(EXAMPLES / example, tmp_path / example)
    bag = _dag_bag(tmp_path)
    assert bag.import_errors == {}
    assert len(bag.dag_ids) == 1
