"""Base URLs an API caller may make the server reach (SSRF protection)."""

from __future__ import annotations

import pytest

from core.egress import AddressNotAllowed, check_base_url
from core.errors import ValidationError

INTERNAL = [
    "http://127.0.0.1:8080/api",
    "http://localhost/",
    "http://10.1.2.3",
    "http://192.168.0.10",
    "http://172.16.5.4",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:9000",
    "http://[::ffff:127.0.0.1]/",
    "http://[fe80::1]/",
    "http://0.0.0.0/",
]


@pytest.mark.parametrize("url", INTERNAL)
async def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(AddressNotAllowed, match="private, loopback or link-local"):
        await check_base_url(url, [])


async def test_public_addresses_pass() -> None:
    assert await check_base_url("https://93.184.216.34/v3", []) == "https://93.184.216.34/v3"
    assert await check_base_url("http://[2606:4700::1111]/", [])


async def test_allowed_hosts_and_networks() -> None:
    assert await check_base_url("http://localhost:9000", ["LocalHost"])
    assert await check_base_url("http://10.1.2.3:80/x", ["10.0.0.0/8"])
    assert await check_base_url("http://[::1]/", ["::1/128"])
    with pytest.raises(AddressNotAllowed):
        await check_base_url("http://10.1.2.3/", ["192.168.0.0/16", "crm.internal"])


@pytest.mark.parametrize(
    "url", ["ftp://example.com", "example.com/api", "http://", "http://[::1", "'; DROP TABLE x"]
)
async def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(ValidationError) as caught:
        await check_base_url(url, [])
    assert not isinstance(caught.value, AddressNotAllowed)
