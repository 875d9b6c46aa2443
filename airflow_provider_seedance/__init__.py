"""Apache Airflow provider for ByteDance Seedance video generation through its API gateways."""

__version__ = "0.1.0"
