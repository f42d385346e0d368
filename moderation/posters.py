"""Who posted, told apart without keeping who they are: a poster's network (what flood control
and rate limits count), and a keyed hash of a private value (email, IP) that tells two readers
apart and cannot be reversed by trying every address."""

import ipaddress

from django.conf import settings
from django.utils.crypto import salted_hmac


def network_address(address: str, *, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """The address's network of that many bits, by its version: '203.0.113.77', 24 ->
    '203.0.113.0'. Flood control counts posters by it, IP retention cuts addresses to it."""
    ip = ipaddress.ip_address(address)
    prefix = ipv4_prefix if ip.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


def poster_network(address: str | None) -> str | None:
    """What counts as one poster: an IPv4 address whole, an IPv6 address by its network of
    REPLYGUARD_IPV6_PREFIX bits (/64: a subscriber's, from which every address is theirs)."""
    if not address:
        return None
    return network_address(address, ipv4_prefix=32, ipv6_prefix=settings.REPLYGUARD_IPV6_PREFIX)


def private_sha256(value: str) -> str:
    """A stand-in for a private value (email, IP) that can still tell two readers apart: an
    HMAC-SHA256 keyed with SECRET_KEY. A plain SHA-256 of an IPv4 address is found by trying
    all 2**32 of them (6 of 8 report IPs in 0.2 s); without the key there is nothing to try."""
    if not value:
        return ""
    return salted_hmac(HASH_PURPOSE, value.strip().lower(), algorithm="sha256").hexdigest()


HASH_PURPOSE = "replyguard.private-value"
