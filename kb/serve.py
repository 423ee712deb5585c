"""`kb serve`: the web app on gunicorn, with threaded workers (Linux; gunicorn needs fork).

kb binds the listening socket itself before anything starts, so a port in use or a bad
host is one clear message, and the URL it prints (the real port, also for `--port 0`) is
only printed once the socket listens. Each worker process builds its own app.
"""

import ctypes
import ctypes.util
import errno
import os
import socket

from gunicorn.app.base import BaseApplication
from gunicorn.arbiter import Arbiter
from gunicorn.sock import TCP6Socket, TCPSocket

from kb.errors import KbError
from kb.settings import Settings

BACKLOG = 2048
# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8


def make_app(settings: Settings, search_log: tuple[bool, int] = (True, 90)):
    """The WSGI app of one worker (each builds its own, with its own searchers and search-log
    writer): the one place the server imports the web layer from."""
    from kb.searchlog import open_search_log
    from kb.web import create_app
    return create_app(settings, open_search_log(settings.index, *search_log))


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or a KbError saying what to change."""
    try:
        family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except (socket.gaierror, UnicodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise KbError(f"--host {host!r} is not a host name or address of this machine ({reason}): "
                      "pass --host 127.0.0.1 (this machine only) or 0.0.0.0 (every network).") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(BACKLOG)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise KbError(f"Port {port} on {host} is already in use: stop the other server or pass "
                          "another --port (--port 0 picks a free one).") from None
        if err.errno == errno.EACCES:
            raise KbError(f"Not allowed to listen on port {port} (ports below 1024 need root): "
                          "pass --port 5000 or another port from 1024 up.") from None
        if err.errno == errno.EADDRNOTAVAIL:
            raise KbError(f"--host {host} is not an address of this machine: pass --host 127.0.0.1 "
                          "(this machine only) or 0.0.0.0 (every network).") from None
        raise KbError(f"Cannot listen on {host}:{port} ({err.strerror}): pass another --host "
                      "or --port.") from None
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if sock.family == socket.AF_INET6 else f"http://{host}:{port}/"


class Server(BaseApplication):
    """gunicorn, configured in Python (no command line of its own to parse)."""

    def __init__(self, settings: Settings, options: dict, search_log: tuple[bool, int]):
        self.settings, self.options, self.search_log = settings, options, search_log
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        return make_app(self.settings, self.search_log)


def tune_malloc() -> None:
    """glibc's malloc set for a long-lived threaded worker. By default each thread may get
    an arena of its own, and after the first large block (a posting list's arrays) is freed
    malloc raises its threshold for mmap, so later ones come from the heap, which then
    rarely shrinks: a worker grew by ~45 MB over 600 searches, of which ~25 MB was freed
    memory kept. Two arenas and a fixed 128 KiB threshold hand large blocks back at once."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (musl, …): its own defaults
        return
    for parameter, value, variable in ((M_ARENA_MAX, 2, "MALLOC_ARENA_MAX"),
                                       (M_MMAP_THRESHOLD, 128 * 1024, "MALLOC_MMAP_THRESHOLD_"),
                                       (M_TRIM_THRESHOLD, 128 * 1024, "MALLOC_TRIM_THRESHOLD_")):
        if variable not in os.environ and "GLIBC_TUNABLES" not in os.environ:  # theirs wins
            mallopt(parameter, value)


def init_worker(worker) -> None:
    """A worker, once forked: malloc tuned, and its index opened before its first request
    (which would otherwise wait ~1 s for it at 20,000 slides); with no index yet, the
    first request says what to run."""
    tune_malloc()
    try:
        worker.wsgi.extensions["kb"]["index"].searcher()
    except KbError:
        pass
    except Exception:  # a worker that cannot open it still starts: its requests say why
        worker.log.exception("could not open the index")


def serve(settings: Settings, host: str, port: int, workers: int | None, threads: int,
          announce, search_log: tuple[bool, int] = (True, 90), listening=None) -> None:
    """Serve until stopped (Ctrl-C or SIGTERM); `listening()` once the port is bound,
    `announce(url, workers, threads)` once gunicorn is ready to start its workers."""
    sock = listen(host, port)
    if listening:
        try:
            listening()
        except BaseException:
            sock.close()
            raise
    url = url_of(sock)
    workers = workers or os.cpu_count() or 1
    server = Server(settings, {
        "bind": url.split("//")[1].rstrip("/"),
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "loglevel": "warning",
        "when_ready": lambda _arbiter: announce(url, workers, threads),
        "post_worker_init": init_worker,
        "proc_name": "kb",
    }, search_log)
    arbiter = Arbiter(server)
    kind = TCP6Socket if sock.family == socket.AF_INET6 else TCPSocket
    arbiter.LISTENERS = [kind(sock.getsockname(), server.cfg, arbiter.log, fd=sock.detach())]
    arbiter.run()
