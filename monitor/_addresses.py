"""Refusing non-public addresses (``[monitor] allow_private = false``): a feed URL, each
redirect hop and the address actually connected to must be public, so a feed list cannot
reach the host's own network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from ._errors import MAX_MESSAGE, FetchError

__all__ = ["check_public", "refuse_private"]


async def refuse_private(url: httpx.URL) -> None:
    """FetchError if ``url``'s host is, or resolves to, a non-public address."""
    host = url.host
    try:
        ipaddress.ip_address(host)
        addresses = [host]
    except ValueError:
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(host, url.port or 0, type=socket.SOCK_STREAM)
        except OSError as exc:
            raise FetchError(f"cannot resolve {host}: {exc}"[:MAX_MESSAGE]) from None
        addresses = [str(info[4][0]) for info in infos]
    for address in addresses:
        check_public(host, address)


def check_public(host: str, address: str) -> None:
    """FetchError if ``address`` (``host``'s) is not a public unicast address; an IPv4
    address mapped into IPv6 is judged as the IPv4 one."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    if not ip.is_global or ip.is_multicast:
        raise FetchError(
            f"refused: {host} is a private, loopback or reserved address ({ip}) and "
            "[monitor] allow_private is false"[:MAX_MESSAGE]
        )
