"""PLACEHOLDER: being written; replace this whole file."""

from aiohttp import web

from airflow_provider_seedance.simulator.gateways.base import ErrorKind, Route, SimGateway


class InfinityBlueSim(SimGateway):
    name = "infinityblue"

    def routes(self) -> list[Route]:
        return []

    def error(self, status: int, kind: ErrorKind, message: str, *, param: str | None = None) -> web.Response:
        return web.json_response({"error": message}, status=status)
