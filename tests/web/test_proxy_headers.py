"""The client address every rate limit and sign-in limit counts, on a live `paperboard serve`: taken from
X-Forwarded-For only when the peer is a trusted proxy (`PAPERBOARD_FORWARDED_ALLOW_IPS`) and proxy headers are on
(`--proxy-headers`, `PAPERBOARD_PROXY_HEADERS`); any other peer is counted at its own address whatever it sends."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import httpx

from tests.conftest import Cli, LiveServer, cli_environment, serving

# Two API requests a minute per address: the third from one address is refused.
LIMIT = "2"


def served(tmp_path: Path, *options: str, **settings: str) -> AbstractContextManager[LiveServer]:
    data_dir = tmp_path / "data"
    return serving(Cli(cli_environment(data_dir, api_requests_per_minute=LIMIT, **settings)), data_dir, options=options)


def statuses_claiming_new_addresses(server: LiveServer) -> list[int]:
    """The answers to four requests from this machine, each claiming to forward another client."""
    return [
        httpx.get(server.url("/api/daily_papers"), headers={"X-Forwarded-For": f"198.51.100.{number}"}).status_code
        for number in range(4)
    ]


def test_an_untrusted_peer_cannot_choose_its_address(tmp_path):
    # The trusted proxy is elsewhere: this machine's requests are counted at 127.0.0.1 whatever they claim.
    with served(tmp_path, forwarded_allow_ips="192.0.2.1") as server:
        assert statuses_claiming_new_addresses(server) == [200, 200, 429, 429]


def test_a_trusted_proxy_gives_each_client_its_own_address(tmp_path):
    # The default trusts a proxy on this machine (127.0.0.1).
    with served(tmp_path) as server:
        assert statuses_claiming_new_addresses(server) == [200, 200, 200, 200]
        # Each forwarded client is held to its own limit.
        assert statuses_claiming_new_addresses(server) == [200, 200, 200, 200]
        assert statuses_claiming_new_addresses(server) == [429, 429, 429, 429]


def test_without_proxy_headers_not_even_a_trusted_peer_chooses_an_address(tmp_path):
    with served(tmp_path, "--no-proxy-headers") as server:
        assert statuses_claiming_new_addresses(server) == [200, 200, 429, 429]
