"""Launching: the server gets ready beside the window, and says so when it can't."""

from __future__ import annotations

import http.client
import socket
from urllib.parse import urlsplit

from conftest import TOOL_FILE
from deskwork import Money, Text, Tool
from deskwork.desktop.launch import ToolServing
from deskwork.desktop.settings import Settings


def tool_with(field) -> Tool:
    tool = Tool("Prices")
    tool.table("things", price=field)
    return tool


def get(port: int, path: str, host: str | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Host": host} if host else {})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def test_the_address_is_known_before_the_tool_is_ready_and_serves_once_it_is(tmp_path):
    serving = ToolServing(tool_with(Money()), tmp_path / "p.sqlite3", Settings.load({}))
    assert serving.first_url.startswith(f"http://127.0.0.1:{serving.port}/?token=")
    serving.start_in_background()
    try:
        assert serving.ready(30)
        status, _ = get(serving.port, f"/?token={serving.secret}")
        assert status == 303  # the real app, behind the secret
        assert get(serving.port, "/")[0] == 403
        window = urlsplit(serving.window_url)  # the window's page comes at once
        assert get(serving.port, f"/?{window.query}")[0] == 200
    finally:
        serving.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", serving.port)) != 0


def test_a_tool_that_cannot_start_serves_a_page_that_says_why(tmp_path):
    database = tmp_path / "p.sqlite3"
    ready = ToolServing(tool_with(Money()), database, Settings.load({}))
    ready.start()
    ready.stop()
    serving = ToolServing(tool_with(Text()), database, Settings.load({}))
    serving.start_in_background()
    try:
        assert not serving.ready(30)
        status, page = get(serving.port, "/anything")
        assert status == 500
        assert "<h1>Prices could not open</h1>" in page
        assert "Column things.price was saved as numbers with 2 decimals" in page
        assert get(serving.port, "/", host="evil.example") == (403, "Forbidden")
    finally:
        serving.stop()
    assert type(serving.error).__name__ == "SchemaError"


def test_what_runs_before_the_window_opens_imports_no_flask_database_or_server():
    # Flask, sqlite-utils and cheroot load on the thread that gets the tool ready, while
    # the window and its browser engine start: not before the window, on its path.
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import deskwork.desktop.cli, deskwork.desktop.launch, fixture_tool\n"
        "heavy = ('flask', 'werkzeug', 'sqlite_utils', 'cheroot', 'http.client')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy or m in heavy))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", cwd=TOOL_FILE.parent
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_thread_left_waiting_on_a_closed_window_does_not_keep_the_process_alive():
    # pywebview's script injection can wait for ever on a window that is gone.
    import subprocess
    import sys

    code = (
        "import threading\n"
        "from deskwork.desktop.cli import exit_when_closed\n"
        "threading.Thread(target=threading.Event().wait, name='stuck').start()\n"
        "print('closed', flush=True)\n"
        "exit_when_closed(3, grace=0.2)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, encoding="utf-8", timeout=30
    )
    assert done.returncode == 3 and done.stdout == "closed\n", done.stderr


def test_the_launchs_socket_and_every_connection_it_accepts_send_at_once():
    from deskwork.desktop.server import ServerThread, _Connection
    from deskwork.desktop.sockets import listening_socket

    def nodelay(sock: socket.socket) -> int:
        return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)

    made = listening_socket()
    assert nodelay(made) != 0
    made.close()
    # A socket handed over without it (as an inherited one may be) gets it when served...
    bare = socket.create_server(("127.0.0.1", 0))
    assert nodelay(bare) == 0
    with ServerThread(lambda e, s: [], sock=bare) as served:
        assert nodelay(bare) != 0
        cheroot_server = served._server
    # ...and every connection the server accepts gets it, whatever it inherited.
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname())
        accepted, _ = listener.accept()
        with client, accepted:
            assert nodelay(accepted) == 0
            _Connection(cheroot_server, accepted)
            assert nodelay(accepted) != 0


def test_a_kept_alive_request_to_a_launched_tool_is_no_slower_than_a_fresh_connections(
    tmp_path, data_dir
):
    """Every click in the window reuses its connection: with TCP's delayed acknowledgement
    in the way, each waited about 40 ms (a fresh connection took 1.6 ms). Medians of many
    requests to a launched ``deskwork run``, with room for a shared machine's noise."""
    import statistics
    import subprocess
    import time

    from conftest import DESKWORK, deskwork_env

    tool_file = tmp_path / "prices.py"
    tool_file.write_text(
        "from deskwork import Money, Tool\ntool = Tool('Prices')\n"
        "tool.table('things', price=Money())\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [str(DESKWORK), "run", str(tool_file), "--browser"], env=deskwork_env(data_dir),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, encoding="utf-8",
    )  # fmt: skip
    try:
        assert process.stdout is not None
        address = next(line.strip() for line in process.stdout if line.startswith("http://"))
        first = urlsplit(address)
        assert first.port is not None
        kept = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10)
        kept.request("GET", f"/?{first.query}")
        answer = kept.getresponse()
        answer.read()
        cookie = answer.getheader("Set-Cookie", "").split(";")[0]
        assert answer.status == 303 and cookie

        def timed(connection: http.client.HTTPConnection) -> float:
            started = time.perf_counter()
            connection.request("GET", "/", headers={"Cookie": cookie})
            response = connection.getresponse()
            assert response.status == 200 and b"Prices" in response.read()
            return time.perf_counter() - started

        reused, fresh = [], []
        for _ in range(25):  # interleaved: the same noise for both
            reused.append(timed(kept))
            new = http.client.HTTPConnection("127.0.0.1", first.port, timeout=10)
            fresh.append(timed(new))
            new.close()
        kept.close()
    finally:
        process.terminate()
        process.communicate(timeout=30)
    print(f"kept alive {statistics.median(reused) * 1000:.1f} ms, "
          f"fresh {statistics.median(fresh) * 1000:.1f} ms")  # fmt: skip
    assert statistics.median(reused) <= statistics.median(fresh) * 1.5 + 0.010
