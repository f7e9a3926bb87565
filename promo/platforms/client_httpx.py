"""httpx, as the HTTP adapters and atproto use it: a client with every timeout set, and its error map.

Imported only when an adapter first talks to its platform (``HttpAdapter.http``), so the registry
and ``promo preview`` load no HTTP library. ``HTTPX_ERRORS`` tells apart a request that never left
(connect refused, connect or pool timeout: ``Retryable``) from one that left without an answer
(read timeout, connection dropped: ``Ambiguous``).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from promo.platforms.boundary import USER_AGENT, ErrorMap, no_answer, unreachable

HTTPX_ERRORS = ErrorMap((
    (httpx.ReadTimeout, no_answer),
    (httpx.ReadError, no_answer),
    (httpx.RemoteProtocolError, no_answer),
    (httpx.TransportError, unreachable),  # connect refused / timeout, pool timeout, write errors
))


def make_client(
    base_url: str, timeout: float, client: httpx.Client | None = None, headers: Mapping[str, str] | None = None
) -> httpx.Client:
    """An httpx client for ``base_url`` with every timeout set; a given ``client`` is re-pointed."""
    client = client if client is not None else httpx.Client()
    client.timeout = httpx.Timeout(timeout)
    client.base_url = httpx.URL(base_url.rstrip("/") + "/")
    client.headers.update({"User-Agent": USER_AGENT, **(headers or {})})
    return client
