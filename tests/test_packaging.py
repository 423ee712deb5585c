"""kb as a user installs it: the wheel built from this checkout, installed into a fresh
virtual environment, run from a folder outside the checkout — it must carry its templates
and static files and serve every page."""

import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

from kb.settings import Settings
from helpers import make_site, serve_kb

ROOT = Path(__file__).resolve().parent.parent


def run(*cmd, **kwargs):
    done = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=600,
                          **kwargs)
    assert done.returncode == 0, f"{cmd}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, ROOT)
    return next(out.glob("kb-*.whl"))


def test_the_wheel_holds_every_module_template_and_static_file(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    want = {f"kb/{p.relative_to(ROOT / 'kb').as_posix()}" for p in (ROOT / "kb").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}
    want |= {f"kb/templates/{p.relative_to(ROOT / 'templates').as_posix()}"
             for p in (ROOT / "templates").rglob("*") if p.is_file()}
    assert want - names == set(), "missing from the wheel (list new subpackages in pyproject.toml)"


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as err:
        return err.code


def test_the_installed_wheel_serves_pages_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    run(venv / "bin/python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        wheel)
    elsewhere = tmp_path / "elsewhere"
    settings = Settings(content=elsewhere / "content", index=elsewhere / "index")
    decks = make_site(settings.content)
    kb = [str(venv / "bin/kb")]
    where = run(venv / "bin/python", "-c", "import kb, kb.resources as r; "
                "print(kb.__file__); print(r.templates_dir())", cwd=elsewhere).stdout.split()
    assert all(str(venv) in line for line in where), where  # the wheel's kb, not the checkout's
    version = run(*kb, "--version", cwd=elsewhere).stdout.strip()
    assert version.startswith("kb ")
    run(*kb, "reindex", "--content", "content", "--index", "index", cwd=elsewhere)
    log = []
    with serve_kb(Settings(content=Path("content"), index=Path("index")), kb=kb, cwd=elsewhere,
                  log=log) as base:
        assert status(base + "/") == 200
        assert status(base + "/search?q=hazard") == 200
        assert status(base + "/decks/" + decks["cohorts"]) == 200
        assert status(base + "/static/kb.css") == 200
        assert status(base + "/decks/no/such/deck") == 404
        assert status(base + "/no-such-page") == 404
    assert "Traceback" not in "".join(log), "".join(log)
