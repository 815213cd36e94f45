"""HTTP requests to addresses that customers choose (webhooks), kept off the operator's own network.

A webhook URL is typed by a customer, so without care the server would POST wherever it points: to
`127.0.0.1`, to the cloud provider's metadata service, to a database on the private network (SSRF).
`post()` resolves the host name itself, refuses unless every address it resolves to is a public one,
and then connects to the address it checked (with the original name in `Host` and for TLS, whose
certificate is still verified against that name), so a DNS answer that changes between the check and
the connection (rebinding) cannot steer the request either. Redirects are never followed.

`TESSERA_OUTBOUND_ALLOW_PRIVATE = True` lifts the address check: for tests against local fakes and for
installations whose receivers are on a private network on purpose.
"""

import ipaddress
import socket

import httpx
from django.conf import settings
from django.utils.translation import gettext as _


class DestinationRefused(httpx.HTTPError):
    """The URL leads to an address that must not be called (loopback, private, link-local…)."""

    def __init__(self, message: str):
        super().__init__(message)


def _allow_private() -> bool:
    return bool(getattr(settings, "TESSERA_OUTBOUND_ALLOW_PRIVATE", False))


NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the IPv4 address is the last 32 bits
NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: local use, never a public address


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through a translation or a tunnel.

    IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms, NAT64 (64:ff9b::a.b.c.d),
    6to4 (2002:aabb:ccdd::) and Teredo (2001::/32, server and client): each reaches the IPv4 address,
    which must be public too.
    """
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if int(ip) >> 32 == 0 or ip in NAT64_WELL_KNOWN:
        found.append(low32)
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)
    return found


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in NAT64_LOCAL_USE:
            return False
        embedded = _embedded_ipv4(ip)
        if ip.ipv4_mapped is not None:  # an IPv4 address written in IPv6: only the IPv4 address counts
            return all(v4.is_global and not v4.is_multicast for v4 in embedded)
        if not all(v4.is_global and not v4.is_multicast for v4 in embedded):
            return False
    return ip.is_global and not ip.is_multicast


def url_check(url: str) -> str:
    """What can be decided without the network: http(s), a host, and no literal private address.

    Raises DestinationRefused with a message for people; returns the URL unchanged.
    """
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        raise DestinationRefused(_("This is not a valid web address.")) from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise DestinationRefused(_("The address must start with https:// or http://."))
    if parsed.userinfo:
        raise DestinationRefused(_("The address must not contain a user name or password."))
    if _allow_private():
        return url
    host = parsed.host.rstrip(".").lower()
    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        raise DestinationRefused(_("The address must be reachable on the internet, not a local name."))
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return url
    if not _public(str(literal)):
        raise DestinationRefused(_("The address must be a public internet address."))
    return url


def resolve(host: str, port: int) -> list[str]:
    """Every address the host name resolves to, refused as a whole if one of them is not public."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise httpx.ConnectError(f"cannot resolve {host}: {error}") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not _allow_private():
        refused = [a for a in addresses if not _public(a)]
        if refused:
            raise DestinationRefused(f"{host} resolves to a non-public address ({', '.join(refused)})")
    return addresses


def post(
    url: str, *, content: bytes, headers: dict, client: httpx.Client, timeout: float = 10
) -> httpx.Response:
    """POST to `url` through `client`, connected to an address checked by `resolve()`."""
    url_check(url)
    parsed = httpx.URL(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    address = resolve(parsed.host, port)[0]
    pinned = parsed.copy_with(host=address)
    host_header = parsed.host if parsed.port is None else f"{parsed.host}:{parsed.port}"
    if ":" in parsed.host:  # an IPv6 literal keeps its brackets in Host
        host_header = f"[{parsed.host}]" + (f":{parsed.port}" if parsed.port else "")
    return client.post(
        pinned,
        content=content,
        headers={**headers, "Host": host_header},
        timeout=timeout,
        extensions={"sni_hostname": parsed.host},
        follow_redirects=False,
    )
