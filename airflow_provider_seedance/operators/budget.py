"""SeedanceBudgetOperator: price a whole night of generations before any is submitted.

It takes the list of keyword arguments a fan-out gets (what ``.expand_kwargs()`` will receive) and the
arguments ``.partial()`` sets for all of them. It prices each one the way the generation operator will,
from its connection's prices laid over the shipped card, and logs a breakdown; a generation whose connection
declares a failover chain is priced at the dearest connection it may be served through (its worst case). The
run fails when the total is above the budget, or when any generation cannot be priced. Otherwise the list is
returned unchanged, so wiring the fan-out to this task's output means no paid call happens in a run that fails
the check.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from airflow.sdk import BaseOperator, Context

from airflow_provider_seedance.compat import AirflowFailException
from airflow_provider_seedance.exceptions import ConnectionConfigError
from airflow_provider_seedance.gateways.delivery import parse_delivery_order
from airflow_provider_seedance.generation.failover import Route
from airflow_provider_seedance.generation.request_fields import request_fields
from airflow_provider_seedance.hooks.seedance import SeedanceHook
from airflow_provider_seedance.models import VideoRequest
from airflow_provider_seedance.pricing import Cost


class SeedanceBudgetOperator(BaseOperator):
    """Fail the run when a list of generations is estimated above ``budget``; else return the list.

    :param requests: the generations' keyword arguments, one dict each (templated; usually an XComArg).
    :param budget: the most the whole list may cost, in ``currency``.
    :param currency: the currency of ``budget``; every price used must be in it.
    :param defaults: the arguments the fan-out's ``.partial()`` gives every generation (an item's own
        value wins), so the check prices what will be sent.
    :param seedance_conn_id: the connection of items that name none.
    """

    template_fields: Sequence[str] = ("requests", "budget")
    ui_color = "#f2e6ff"

    def __init__(
        self,
        *,
        requests: Sequence[Mapping[str, Any]] | Any,
        budget: float,
        currency: str = "USD",
        defaults: Mapping[str, Any] | None = None,
        seedance_conn_id: str = SeedanceHook.default_conn_name,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if isinstance(budget, int | float) and not budget > 0:
            raise ValueError(f"{self.task_id}: budget={budget!r}; allowed: more than 0 (in {currency})")
        self.requests = requests
        self.budget = budget
        self.currency = currency
        self.defaults = dict(defaults or {})
        self.seedance_conn_id = seedance_conn_id

    def execute(self, context: Context) -> list[dict[str, Any]]:
        try:
            budget = float(self.budget)
        except (TypeError, ValueError):
            raise AirflowFailException(
                f"budget={self.budget!r} is not a number. Next: give it in {self.currency}, then clear the task."
            ) from None
        items = [dict(item) for item in self.requests]
        routes: dict[str, Route] = {}
        priced: list[tuple[str, str, Cost]] = []
        unpriced: list[str] = []
        for index, item in enumerate(items):
            arguments = {**self.defaults, **item}
            route = self._route(routes, str(arguments.get("seedance_conn_id", self.seedance_conn_id)))
            deliveries = parse_delivery_order(arguments.get("media_delivery"))
            try:
                request = VideoRequest.from_fields(request_fields(arguments))
                # The model's own rules too, as the generation will check them: an invalid item is said to be
                # invalid, not priced (a 99 s video would read as "over budget").
                route.primary.gateway.validate(request, deliveries)
            except ValueError as exc:  # RequestValidationError is one
                raise AirflowFailException(f"item {index}: {exc}\nNext: fix the item, then clear the task.") from None
            # Each connection the item may be served through (its failover chain), priced: the worst case counts.
            hops = route.candidates(request, deliveries, None)
            costs = [(hop, hop.hook.connection.estimate(hop.request)) for hop in hops]
            missing = [hop for hop, cost in costs if cost is None]
            if missing:
                unpriced.extend(
                    f"item {index}: {hop.request.model} on {hop.hook.gateway.name} (connection {hop.conn_id!r})"
                    for hop in missing
                )
                continue
            known = [(hop, cost) for hop, cost in costs if cost is not None]
            currencies = sorted({cost.currency for _, cost in known})
            if len(currencies) > 1:
                unpriced.append(f"item {index}: its failover chain is priced in {' and '.join(currencies)}")
                continue
            hop, worst = max(known, key=lambda each: each[1].amount)
            priced.append((hop.hook.gateway.name, hop.request.model, worst))
        self._check(budget, len(items), priced, unpriced)
        return items

    def _route(self, cache: dict[str, Route], conn_id: str) -> Route:
        if conn_id not in cache:
            route = Route(SeedanceHook(conn_id), self.log)
            try:
                route.check()
            except ConnectionConfigError as exc:
                raise AirflowFailException(f"{exc}. Fix the connection, then clear the task.") from None
            cache[conn_id] = route
        return cache[conn_id]

    def _check(self, budget: float, count: int, priced: list[tuple[str, str, Cost]], unpriced: list[str]) -> None:
        if unpriced:
            raise AirflowFailException(
                f"{len(unpriced)} of {count} generations have no known price, so the budget cannot be checked: "
                f"{'; '.join(unpriced)}. Next: add their prices to the connections as extra.prices (see "
                "docs/guides/spend-control.md, 'Prices from your contract'), then clear the task."
            )
        others = sorted({cost.currency for _, _, cost in priced} - {self.currency})
        if others:
            raise AirflowFailException(
                f"the budget is in {self.currency} but some prices are in {', '.join(others)}. Next: give the "
                "budget in the prices' currency, or prices in the budget's, then clear the task."
            )
        total = sum(cost.amount for _, _, cost in priced)
        table = _breakdown(priced)
        summary = f"{count} generations estimated at {total:.4f} {self.currency} against a budget of {budget:g}"
        self.log.info("%s:\n%s", summary, table)
        if total > budget:
            raise AirflowFailException(
                f"{summary}: over budget, so none is submitted.\n{table}\nNext: lower durations or resolutions, "
                "drop items, or raise the budget, then clear the task."
            )


def _breakdown(priced: list[tuple[str, str, Cost]]) -> str:
    """One line per gateway, model and basis: how many, each, subtotal."""
    groups: dict[tuple[str, str, float, str], int] = defaultdict(int)
    for gateway, model, cost in priced:
        groups[(gateway, model, cost.amount, cost.basis)] += 1
    return "\n".join(
        f"  {count} x {gateway} {model}: {amount:.4f} each, {amount * count:.4f} ({basis})"
        for (gateway, model, amount, basis), count in sorted(groups.items())
    )
