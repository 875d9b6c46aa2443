"""The names a ``seedance`` connection's ``extra.gateway`` may take, in display order.

A leaf module on purpose: Airflow reads provider info in every process it starts, and listing the
names must not import the dialects (and build their pydantic models) each time.
"""

GATEWAY_NAMES: tuple[str, ...] = ("ark", "imini", "apimart", "aiproxy", "infinityblue", "jimmyai")
