"""benchmarks/load.py as a test, small: 16 concurrent clients against `kb serve` on loopback,
zero errors — once on a quiet server and once while decks are edited and reindexed.
KB_SLOW=1 sends more requests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

LOAD = Path(__file__).parent.parent / "benchmarks" / "load.py"
SLOW = os.environ.get("KB_SLOW") == "1"


def run_load(*args, timeout=600) -> dict:
    proc = subprocess.run([sys.executable, str(LOAD), "--json", "--clients", "16", *args],
                          capture_output=True, timeout=timeout)
    assert proc.stdout, proc.stderr.decode()[-3000:]
    report = json.loads(proc.stdout)
    assert report["errors"] == 0 and proc.returncode == 0, (
        f"{report['errors']} errors, e.g. {report['error_samples'][:3]}\n"
        + proc.stderr.decode()[-3000:])
    return report


@pytest.mark.slow
def test_sixteen_clients_zero_errors():
    report = run_load("--synthetic", "12", "--requests", "2000" if SLOW else "400",
                      "--max-seconds", "300")
    assert report["done"] == report["planned"]
    assert report["latency"]["all"]["p99_ms"] < 10_000


@pytest.mark.slow
def test_sixteen_clients_zero_errors_while_reindexing():
    report = run_load("--synthetic", "12", "--churn", "--requests", "1500" if SLOW else "300",
                      "--max-seconds", "300")
    assert report["done"] == report["planned"]
    assert report["reindexes_during_load"], "no reindex ran during the load"
