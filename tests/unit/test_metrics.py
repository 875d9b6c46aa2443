"""Metric tags that cannot break StatsD's line format."""

from __future__ import annotations

from airflow_provider_seedance.observability import metrics


def test_tag_values_cannot_break_the_line_format():
    tags = metrics._tags(model="doubao/seedance-2.0", currency="US D,x=1:2|c", gateway="a" * 100)
    assert tags == {"model": "doubao/seedance-2.0", "currency": "US_D_x_1_2_c", "gateway": "a" * 64}
