"""The socket ``quizgen serve`` binds: connections accepted on it send small writes at once.

asyncio switches Nagle's algorithm off (TCP_NODELAY) only on sockets whose protocol is
IPPROTO_TCP, and an accepted socket inherits the listening socket's. Bound with
protocol 0, every response (uvicorn writes its head and body separately) waited for the
client's delayed ACK: about 60 ms per submission with one client, 4 ms without
(bench/bench_service.py --clients 1)."""

from __future__ import annotations

import asyncio
import socket

from quizgen.cli.serve import _bind


def _nodelay_of_an_accepted_connection(listening: socket.socket) -> int:
    async def main() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        class Probe(asyncio.Protocol):
            def connection_made(self, transport: asyncio.BaseTransport) -> None:
                sock = transport.get_extra_info("socket")
                accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
                transport.close()

        server = await asyncio.get_running_loop().create_server(Probe, sock=listening)
        _, writer = await asyncio.open_connection(*listening.getsockname()[:2])
        try:
            return await asyncio.wait_for(accepted, 10)
        finally:
            writer.close()
            server.close()

    return asyncio.run(main())


def test_connections_to_the_served_socket_have_nagle_off():
    listening = _bind("127.0.0.1", 0)
    assert listening.proto == socket.IPPROTO_TCP
    assert _nodelay_of_an_accepted_connection(listening) != 0


def test_the_check_can_fail_a_socket_bound_with_protocol_0_gets_no_nodelay():
    # the negative control: how _bind made its socket before
    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.bind(("127.0.0.1", 0))
    listening.listen(8)
    assert _nodelay_of_an_accepted_connection(listening) == 0
