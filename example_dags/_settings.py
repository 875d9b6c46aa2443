"""Settings the example DAGs share, read from the environment with defaults that work with ``make demo``.

SEEDANCE_OUTPUT_BASE   where videos land, e.g. s3://my-bucket/seedance (default s3://seedance-demo/videos)
SEEDANCE_OUTPUT_CONN   the connection for that storage (default aws_default)
SEEDANCE_MODEL         the model id for your gateway (default dreamina-seedance-2-0-260128, Ark)
SEEDANCE_POOL          a pool created with include_deferred that caps paid generations (default seedance_api)
SEEDANCE_POLL_SECONDS  seconds between status polls (default 15; the demo uses 2)
"""

from __future__ import annotations

import os

OUTPUT_BASE = os.environ.get("SEEDANCE_OUTPUT_BASE", "s3://seedance-demo/videos").rstrip("/")
OUTPUT_CONN = os.environ.get("SEEDANCE_OUTPUT_CONN", "aws_default")
MODEL = os.environ.get("SEEDANCE_MODEL", "dreamina-seedance-2-0-260128")
POOL = os.environ.get("SEEDANCE_POOL", "seedance_api")
POLL_SECONDS = float(os.environ.get("SEEDANCE_POLL_SECONDS", "15"))
# Models per gateway for the fan-out example, whose rows name a gateway each.
MODELS_BY_GATEWAY = {
    "ark": os.environ.get("SEEDANCE_MODEL_ARK", MODEL),
    "apimart": os.environ.get("SEEDANCE_MODEL_APIMART", "doubao-seedance-2.0"),
    "infinityblue": os.environ.get("SEEDANCE_MODEL_INFINITYBLUE", "doubao-seedance-2-0-260128"),
    "imini": os.environ.get("SEEDANCE_MODEL_IMINI", "doubao/seedance-2.0"),
    "jimmyai": os.environ.get("SEEDANCE_MODEL_JIMMYAI", "seedance2.0-mini"),
    "aiproxy": os.environ.get("SEEDANCE_MODEL_AIPROXY", "doubao-seedance-1-0-pro-250528"),
}
