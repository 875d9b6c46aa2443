"""What the ``seedance`` connection form shows: one definition for every Airflow release.

Airflow 3.2 and later read it declaratively from provider info (``conn-fields`` /
``ui-field-behaviour``, built in ``get_provider_info``); 3.0 and 3.1 ask the hook instead
(``get_connection_form_widgets`` / ``get_ui_field_behaviour``, built by the functions below). Both are
made from the constants here, so the two forms cannot drift apart. A leaf module: provider info
imports it in every Airflow process.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_seedance.gateways import GATEWAY_NAMES

HIDDEN_FIELDS: tuple[str, ...] = ("schema", "port", "login")
RELABELING: dict[str, str] = {"host": "Base URL", "password": "API key"}
PLACEHOLDERS: dict[str, str] = {
    "host": "empty = the gateway's public URL, e.g. https://api.apimart.ai",
    "password": "the gateway API key (sent as a Bearer token)",
}

GATEWAY_FIELD = "gateway"
GATEWAY_LABEL = "Gateway"
GATEWAY_DESCRIPTION = "Which API dialect this connection speaks: " + ", ".join(GATEWAY_NAMES) + "."
GATEWAY_DEFAULT = "ark"


def legacy_connection_form_widgets() -> dict[str, Any]:
    """The form's extra fields as WTForms fields, which Airflow 3.0 and 3.1 read from the hook.

    Only ``wtforms`` is used (no Flask-AppBuilder widget): the Airflow 3 UI renders the field from
    its type, label, default and allowed values. 3.2+ ignores this in favour of ``conn-fields``.
    """
    from wtforms import StringField
    from wtforms.validators import any_of

    return {
        GATEWAY_FIELD: StringField(
            GATEWAY_LABEL,
            validators=[any_of(list(GATEWAY_NAMES))],
            description=GATEWAY_DESCRIPTION,
            default=GATEWAY_DEFAULT,
        )
    }


def legacy_ui_field_behaviour() -> dict[str, Any]:
    """Hidden, relabelled and explained standard fields, as Airflow 3.0 and 3.1 read them from the hook."""
    return {"hidden_fields": list(HIDDEN_FIELDS), "relabeling": dict(RELABELING), "placeholders": dict(PLACEHOLDERS)}
