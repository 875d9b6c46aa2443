"""Test-wide setup: a private, throwaway AIRFLOW_HOME so no test touches a real installation."""

from __future__ import annotations

import os
import tempfile

# Set before anything imports airflow: its configuration is read once, at first import.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="seedance-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
