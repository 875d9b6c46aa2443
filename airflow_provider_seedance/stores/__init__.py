"""Each object store's own way to write whole-or-nothing, create-if-absent and hand out signed GET URLs.

``schemes.py`` is pure data (which extra a scheme needs; read while DAGs are parsed, and by the dialects),
so this package's ``__init__`` imports nothing: ``registry.store_for(path)`` picks the store by scheme.
"""
