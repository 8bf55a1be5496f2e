"""A webhook receiver on loopback for the tests: scripted answers per path, every request kept."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """`answers[path]`: statuses to answer in turn (the last one repeats; default 200)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: dict[str, list[int]] = {}
        self.delay = 0.0  # seconds before each answer (a slow receiver)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body, "json": json.loads(body)})
                time.sleep(receiver.delay)
                queue = receiver.answers.get(self.path, [200])
                status = queue.pop(0) if len(queue) > 1 else queue[0]
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def at(self, path: str) -> list[dict]:
        return [r for r in self.requests if r["path"] == path]

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
