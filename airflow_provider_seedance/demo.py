"""``make demo``: show, for one sample prompt, the exact HTTP request each of the six gateways would receive.

Nothing is sent and no key is needed; the Authorization header is shown masked.
"""

from __future__ import annotations

import json

from airflow_provider_seedance.gateways import GATEWAYS
from airflow_provider_seedance.models import VideoRequest

SAMPLE_PROMPT = "A paper boat drifting down a rain-soaked street at dusk, neon reflections, slow dolly shot"
SAMPLE_MODELS = {
    "ark": "dreamina-seedance-2-0-260128",
    "imini": "doubao/seedance-2.0",
    "apimart": "doubao-seedance-2.0",
    "aiproxy": "doubao-seedance-1-0-pro-250528",
    "infinityblue": "doubao-seedance-2-0-260128",
    "jimmyai": "seedance2.0-mini",
}


def main() -> None:
    print(f"Sample request: {SAMPLE_PROMPT!r}, 5 s, 720p, 16:9\n")
    for name, gateway in GATEWAYS.items():
        request = VideoRequest(
            model=SAMPLE_MODELS[name], prompt=SAMPLE_PROMPT, duration=5, resolution="720p", ratio="16:9"
        )
        call = gateway.build_submit(request)
        base_url = gateway.default_base_url or "<your gateway base URL>"
        print(f"== {name} ({request.model})")
        print(f"{call.method} {base_url.rstrip('/')}/{call.path}")
        print("Authorization: Bearer ****")
        print(json.dumps(call.json, indent=2, ensure_ascii=False))
        print()


if __name__ == "__main__":
    main()
