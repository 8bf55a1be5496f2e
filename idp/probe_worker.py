"""gunicorn's gthread worker with health probes and key documents on their own threads.

With the database frozen, every request thread can be waiting on it (up to the client
deadline, idp/database.py). An orchestrator's liveness probe must still get its answer
within a second, or it would restart every instance at once; readiness must say 503
quickly, and relying parties must still get the JWKS. So a request whose first line
asks for one of PROBE_PATHS is handed to a small pool of its own; everything else uses
the usual pool. Routing peeks at the bytes already received, so nothing is consumed.
"""

from __future__ import annotations

import errno
import select
import selectors
import socket
import threading
import time
from concurrent import futures
from functools import partial

from gunicorn.workers.gthread import DEFAULT_WORKER_DATA_TIMEOUT, TConn, ThreadWorker

PROBE_THREADS = 4
# How long a request thread waits for the next request on its keep-alive connection
# before handing the connection back to the poller. A client that sends its next request
# at once (a service asking /token in a loop) is then served on the same thread: no trip
# through the main thread's poller, pipe and pool queue for every request, which cost
# more CPU than our own /token code (issue 20). Only while no other connection waits.
KEEPALIVE_LINGER = 0.002
PROBE_PATHS = (b"/healthz", b"/readyz", b"/jwks.json", b"/.well-known/")
_PEEK = 64


def is_probe_request(head: bytes) -> bool:
    """True when `head` (the first bytes of a request) is a GET/HEAD of a probe path."""
    method, _, rest = head.partition(b" ")
    if method not in (b"GET", b"HEAD"):
        return False
    target = rest.split(b" ", 1)[0].split(b"?", 1)[0]
    return any(target == p or (p.endswith(b"/") and target.startswith(p))
               for p in PROBE_PATHS)


class ProbeThreadWorker(ThreadWorker):
    """gthread plus a probe pool; a new connection waits for its first bytes on the
    poller (not on a request thread), so it can be routed by its request line."""

    def init_process(self):
        self.probe_pool = futures.ThreadPoolExecutor(max_workers=PROBE_THREADS,
                                                     thread_name_prefix="probe")
        super().init_process()

    def accept(self, listener):
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        # The same total wait for a first byte as gthread's (thread wait, then poller).
        conn.timeout = time.monotonic() + DEFAULT_WORKER_DATA_TIMEOUT + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self.on_pending_socket_readable, conn))

    def enqueue_req(self, conn):
        pool = self.probe_pool if self._wants_probe_pool(conn) else self.tpool
        fs = pool.submit(self.handle, conn)
        fs.add_done_callback(
            lambda fut: self.method_queue.defer(self.finish_request, conn, fut))

    def handle(self, conn):
        result = super().handle(conn)
        in_probe_pool = threading.current_thread().name.startswith("probe")
        while result is True and self.alive and self._next_request_soon(conn):
            if self._wants_probe_pool(conn) != in_probe_pool or self.tpool._work_queue.qsize():
                break  # the poller routes it (probe or not), or another connection waits
            result = super().handle(conn)
        return result

    def _next_request_soon(self, conn) -> bool:
        """True when the connection's next request is already here or arrives within
        KEEPALIVE_LINGER."""
        if conn.parser.unreader.buf.getvalue():
            return True
        try:
            readable, _, _ = select.select([conn.sock], [], [], KEEPALIVE_LINGER)
        except (OSError, ValueError):
            return False
        return bool(readable)

    def _wants_probe_pool(self, conn) -> bool:
        if self.cfg.is_ssl or (conn.parser is not None and conn.parser.unreader.buf.getvalue()):
            return False
        try:
            head = conn.sock.recv(_PEEK, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except OSError:
            return False
        return is_probe_request(head)

    def handle_quit(self, sig, frame):
        self.probe_pool.shutdown(wait=False)
        super().handle_quit(sig, frame)

    def run(self):
        try:
            super().run()
        finally:
            self.probe_pool.shutdown(wait=False)
