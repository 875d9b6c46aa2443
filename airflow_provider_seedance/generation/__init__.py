"""The engine the operators and the sensor share: one generation from request to stored video.

Prepare (checks, inputs, fingerprint), resume or submit exactly once (claims), wait, conclude (store, or
fail by cause), under one set of settings. The Airflow classes in ``operators/`` and ``sensors/`` are thin
layers over it.
"""
