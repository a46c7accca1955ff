"""Which origins a connection's credentials may be sent to: its own, and no other.

Auth headers go with every request of a stream, including the next-page URLs a vendor hands
back. A next link to another scheme, host or port (a compromised or misconfigured vendor, a
redirecting proxy, a typo in a connector spec) would carry the token there, so such a link is
refused before anything is sent. An origin is (scheme, host, port) with the scheme's default
port filled in, as browsers compare them.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of `url`, lower-cased, default port made explicit; no userinfo."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port
    except ValueError:
        port = None
    return scheme, (parts.hostname or "").lower(), port or _DEFAULT_PORTS.get(scheme)


def describe_origin(url: str) -> str:
    """`scheme://host:port` of `url`: what an error may show (never a path, query or password)."""
    scheme, host, port = origin_of(url)
    shown = f"[{host}]" if ":" in host else host
    return f"{scheme}://{shown}" + (f":{port}" if port is not None else "")


def same_origin(url: str, base_url: str) -> bool:
    """Whether `url` has the scheme, host and port of `base_url`."""
    return origin_of(url) == origin_of(base_url)


def is_loopback_host(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1: traffic that never leaves the machine."""
    host = host.lower().strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
