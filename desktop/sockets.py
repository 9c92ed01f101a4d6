"""The server's socket: bound once to 127.0.0.1, and sending each response at once.

Kept apart from the server (``deskwork.desktop.server``, which imports cheroot) so that a
launch binds its socket before anything heavy is imported: the window opens meanwhile.
"""

from __future__ import annotations

import socket


def no_delay(sock: socket.socket) -> None:
    """Send each response as soon as it is written (``TCP_NODELAY``). Without it, a
    kept-alive connection (what WebKit, Chromium and every HTTP client reuse) waits for
    the delayed acknowledgement between a response's headers and its body: about 40 ms
    on every request after the first."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def listening_socket() -> socket.socket:
    """A socket bound to 127.0.0.1 on a port the OS picks, listening: bound once, so there
    is no probe-then-bind race, and the port is known before the app is built."""
    sock = socket.create_server(("127.0.0.1", 0))
    no_delay(sock)  # inherited by the connections accepted from it, on most systems
    return sock
