"""The listening sockets `serve` shares between workers."""

from __future__ import annotations

import socket

from otel_errors.cli._sockets import listen


def test_listening_sockets_give_accepted_connections_tcp_nodelay() -> None:
    # asyncio turns Nagle off only on sockets whose proto is TCP; without it each small keep-alive API response
    # waited ~40 ms for the client's delayed ACK.
    sock = listen("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
        with socket.create_connection(sock.getsockname()) as _client:
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.proto == socket.IPPROTO_TCP
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()
