"""Who sent a request: the peer's address, or, behind a reverse proxy the operator
trusts (``quizgen serve --forwarded-allow-ips``), the client the proxy names.

``X-Forwarded-For`` is read only when the peer is a trusted proxy (by default none is:
any client can write the header). The header lists the hops left to right, each proxy
appending the address it received from; the client is the rightmost hop that is not
itself a trusted proxy, since everything left of that could have been written by the
client. A hop that is not an address ends the walk at the hop before it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from ..errors import QuizgenError


@dataclass(frozen=True)
class TrustedProxies:
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def parse(cls, text: str | Iterable[str]) -> TrustedProxies:
        """From ``--forwarded-allow-ips`` ("127.0.0.1,10.0.0.0/8"); QuizgenError on a bad entry."""
        items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
        nets = []
        for item in items:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise QuizgenError(f"--forwarded-allow-ips: {item[:60]!r} is not an address or network") from None
        return cls(tuple(nets))

    def trusts(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address.strip().strip("[]"))
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip.version == net.version and ip in net for net in self.networks)

    def as_text(self) -> list[str]:
        return [str(n) for n in self.networks]


def client_address(peer: str | None, forwarded_for: list[str], proxies: TrustedProxies) -> str | None:
    """The address a request is counted under (see the module doc)."""
    if not proxies.trusts(peer):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop.strip("[]"))
        except ValueError:
            return client
        client = hop
        if not proxies.trusts(hop):
            return hop
    return client
