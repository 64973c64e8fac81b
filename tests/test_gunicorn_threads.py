"""THREADS: the thread count of gunicorn's worker, read by gunicorn.conf.py."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from .conftest import SECRET_KEY
from .server import Server

pytestmark = pytest.mark.sqlite_run_only("tests a gunicorn setting, not the database")

CONFIG = Path(__file__).resolve().parent.parent / "gunicorn.conf.py"


def _threads(monkeypatch, value: str | None) -> int:
    if value is None:
        monkeypatch.delenv("THREADS", raising=False)
    else:
        monkeypatch.setenv("THREADS", value)
    return runpy.run_path(str(CONFIG))["threads"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, 2), ("", 2), (" ", 2), ("1", 1), ("3", 3), (" 8 ", 8), ("016", 16)],
)
def test_threads_setting_is_read(monkeypatch, value, expected):
    assert _threads(monkeypatch, value) == expected


@pytest.mark.parametrize(
    "value", ["0", "-1", "abc", "2.5", "1e3", "\u0663", "²", "4 4"]
)
def test_invalid_threads_are_rejected(monkeypatch, value):
    with pytest.raises(ValueError, match="invalid THREADS=") as raised:
        _threads(monkeypatch, value)

    assert f"THREADS={value!r}" in str(raised.value)


def test_invalid_threads_stop_the_start(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'phones.db'}",
        "PHONES_SECRET_KEY": SECRET_KEY,
        "THREADS": "0",
    }
    server = Server(env=env, log_path=tmp_path / "server.log")

    with pytest.raises(RuntimeError, match="server exited"):
        server.start()

    log = server.log_path.read_text()
    assert "invalid THREADS='0': set a whole number from 1" in log
