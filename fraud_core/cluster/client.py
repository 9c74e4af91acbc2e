"""One `dask.distributed.Client` per scheduler address and process, opened on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dask.distributed import Client

_clients: dict[str, Client] = {}


def open_client(address: str) -> Client:
    """A connected client of the scheduler at `address` (tcp://host:8786), reused while it
    stays connected; it is not made Dask's default (callers pass it explicitly)."""
    from dask.distributed import Client

    client = _clients.get(address)
    if client is None or client.status != "running":
        client = _clients[address] = Client(address, set_as_default=False)
    return client
