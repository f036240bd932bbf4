"""The health check served by the real app under uvicorn."""

from pathlib import Path

from bot.db import make_engine
from tests.conftest import O2C


def test_healthz_returns_ok(o2c: O2C) -> None:
    response = o2c.http.get(f"{o2c.url}/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_post_not_allowed(o2c: O2C) -> None:
    response = o2c.http.post(f"{o2c.url}/healthz")

    assert response.status_code == 405


def test_healthz_unknown_path_404(o2c: O2C) -> None:
    response = o2c.http.get(f"{o2c.url}/no-such-page")

    assert response.status_code == 404


def test_healthz_database_down_503(o2c: O2C, tmp_path: Path) -> None:
    # SQLite cannot open a file in a folder that does not exist, so every connect fails.
    working_engine = o2c.runtime.engine
    o2c.runtime.engine = make_engine(f"sqlite:///{tmp_path / 'absent' / 'o2c.db'}")
    try:
        response = o2c.http.get(f"{o2c.url}/healthz")
    finally:
        o2c.runtime.engine.dispose()
        o2c.runtime.engine = working_engine

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unreachable"}
