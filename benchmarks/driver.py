"""What bench.py and load.py share: HTTP clients on keep-alive connections, percentiles
(statistics.quantiles), and a server process's CPU and memory (psutil, its children
included). Loopback only."""

from __future__ import annotations

import contextlib
import http.client
import socket
import statistics
import threading
import time

import psutil

MB = 2**20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def summary(ms: list[float]) -> dict:
    """n, mean, p50/p90/p95/p99 and max of latencies in ms."""
    if not ms:
        return {"n": 0}
    cuts = statistics.quantiles(ms, n=100, method="inclusive") if len(ms) > 1 else [ms[0]] * 99
    return {"n": len(ms), "mean": round(statistics.fmean(ms), 2),
            **{f"p{p}": round(cuts[p - 1], 2) for p in (50, 90, 95, 99)},
            "max": round(max(ms), 2)}


class Meter:
    """A process and its children (gunicorn workers, a reindex's pool), read with psutil."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)

    def tree(self) -> list[psutil.Process]:
        with contextlib.suppress(psutil.Error):
            return [self.proc, *self.proc.children(recursive=True)]
        return []

    def cpu_s(self) -> float:
        """User + system CPU seconds used so far by the process tree (live processes)."""
        total = 0.0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                t = p.cpu_times()
                total += t.user + t.system
        return total

    def memory(self, pss: bool = False) -> dict:
        """RSS of the whole tree, split into heap (anonymous) and mapped files (Linux), and
        with `pss` its PSS (slower to read): each page shared by several of the processes (what a fork leaves shared,
        libraries) counted once in all, as a share per process; a sum of RSS counts it in
        each."""
        rss = shared = total_pss = 0
        for p in self.tree():
            with contextlib.suppress(psutil.Error):
                m = p.memory_info()
                rss, shared = rss + m.rss, shared + getattr(m, "shared", 0)
                total_pss += getattr(p.memory_full_info(), "pss", 0) if pss else 0
        return {"rss_mb": round(rss / MB, 1), "anon_mb": round((rss - shared) / MB, 1),
                "file_mb": round(shared / MB, 1), "processes": len(self.tree()),
                **({"pss_mb": round(total_pss / MB, 1)} if pss else {})}


class Clients:
    """`clients` threads, each on its own keep-alive connection, taking (kind, path) items
    from one queue until it is empty or `seconds` have passed. Anything but a 200 (or no
    answer) is an error."""

    def __init__(self, port: int, items: list[tuple[str, str]], clients: int, seconds: float,
                 headers: dict | None = None, host: str = "127.0.0.1"):
        self.host, self.port, self.items, self.clients = host, port, items, clients
        self.deadline = time.monotonic() + seconds
        self.headers = headers or {}
        self.next = 0
        self.lock = threading.Lock()
        self.results: list[tuple[str, float, int | None, int]] = []  # kind, s, status, bytes
        self.errors: list[tuple[str, str, str]] = []
        self.wall = 0.0

    def take(self):
        with self.lock:
            if self.next >= len(self.items) or time.monotonic() > self.deadline:
                return None
            self.next += 1
            return self.items[self.next - 1]

    def client(self, barrier: threading.Barrier) -> None:
        conn = None
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(30)
        while (item := self.take()) is not None:
            kind, path = item
            conn = conn or http.client.HTTPConnection(self.host, self.port, timeout=60)
            started = time.perf_counter()
            status, body = None, b""
            try:
                conn.request("GET", path, headers=self.headers)
                response = conn.getresponse()
                body, status = response.read(), response.status
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException) as err:
                with contextlib.suppress(Exception):
                    conn.close()
                conn = None
                self.errors.append((kind, path, f"{type(err).__name__}: {err}"))
            took = time.perf_counter() - started
            if status is not None and status != 200:
                self.errors.append((kind, path, f"HTTP {status}: {body[:200]!r}"))
            with self.lock:
                self.results.append((kind, took, status, len(body)))
        if conn:
            conn.close()

    def run(self) -> "Clients":
        barrier = threading.Barrier(self.clients)
        threads = [threading.Thread(target=self.client, args=(barrier,), daemon=True)
                   for _ in range(self.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.wall = time.monotonic() - started
        return self

    def ok_ms(self) -> list[float]:
        return [took * 1000 for _, took, status, _ in self.results if status == 200]
