"""A web server on 127.0.0.1 that keeps what is PUT to it and serves it back, as an
intranet server publishing releases does (for the update tests)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote


class Place:
    """Serves ``folder`` at ``url``; ``PUT`` writes into it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        root = folder

        class Handler(BaseHTTPRequestHandler):
            def _path(self) -> Path:
                return root / Path(unquote(self.path.split("?")[0])).name

            def do_GET(self) -> None:
                path = self._path()
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self) -> None:
                length = int(self.headers["Content-Length"])
                self._path().write_bytes(self.rfile.read(length))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/releases"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
