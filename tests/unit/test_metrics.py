"""Metric tags that cannot break StatsD's line format, and the README's table of metrics as declared."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_seedance.observability import metrics

ROOT = Path(__file__).resolve().parents[2]


def test_tag_values_cannot_break_the_line_format():
    tags = metrics._tags(model="doubao/seedance-2.0", currency="US D,x=1:2|c", gateway="a" * 100)
    assert tags == {"model": "doubao/seedance-2.0", "currency": "US_D_x_1_2_c", "gateway": "a" * 64}


def test_the_readme_table_is_the_metrics_as_declared():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Metrics\n", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `seedance.")]
    declared = [
        f"| `{m.name}` | {m.kind} | {m.unit} | {', '.join(f'`{tag}`' for tag in m.tags)} | {m.description} |"
        for m in metrics.METRICS
    ]
    assert rows == declared
