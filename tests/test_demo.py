"""``make demo`` prints, for one prompt, the request each of the six gateways would receive."""

from __future__ import annotations

import json

from airflow_provider_seedance import demo
from airflow_provider_seedance.gateways import GATEWAY_NAMES


def test_demo_prints_one_valid_request_per_gateway(capsys):
    demo.main()
    out = capsys.readouterr().out
    sections = out.split("\n== ")[1:]
    assert [section.split(" ", 1)[0] for section in sections] == list(GATEWAY_NAMES)
    for section in sections:
        body = json.loads(section[section.index("{") :])
        assert demo.SAMPLE_PROMPT in json.dumps(body)
    assert "Bearer ****" in out
