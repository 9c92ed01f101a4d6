"""A child process for the durability tests: serves a small tool with deskwork's own app
and server, on a database file it is given, until it is killed.

    python tests/serve_child.py DATABASE SECRET

Prints the port it serves on, then serves until SIGKILL or SIGTERM.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

from deskwork import Integer, Money, Text, Tool

tool = Tool("Saves", templates=None)
saves = tool.table("saves", number=Integer(required=True), note=Text(), amount=Money())
tool.form("New save", saves)
tool.table_page("Saves", saves)


def main() -> None:
    from deskwork.app import create_app
    from deskwork.db.storage import Storage
    from deskwork.desktop.server import ServerThread

    database, secret = Path(sys.argv[1]), sys.argv[2]
    storage = Storage(database)
    storage.prepare(tool)
    storage.hold()
    import socket

    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(tool, storage, secret=secret, port=port)
    server = ServerThread(app, sock=sock).start()
    print(port, flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop()
    storage.let_go()


if __name__ == "__main__":
    main()
