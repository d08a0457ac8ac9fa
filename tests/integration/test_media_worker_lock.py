"""The media worker makes a photo's copies outside any write transaction: on SQLite a write
transaction holds the database's one write lock, and copies made under it (tens of milliseconds a
photo) held every upload and sync of the phones behind them (the county year's peak morning)."""

from __future__ import annotations

import io
import sqlite3
import uuid

import pytest
import sqlalchemy as sa

from inspect_api.visits import media
from tests.images import photo
from tests.integration.test_concurrent_resends import live, visit_body  # noqa: F401 - the fixture


def test_copies_are_made_while_another_writer_could_write(live, monkeypatch):  # noqa: F811
    app, ids, headers = live
    url = sa.make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() != "sqlite":
        pytest.skip("PostgreSQL has no single write lock")
    client = app.test_client()
    vid = str(uuid.uuid4())
    assert client.put(f"/api/v1/visits/{vid}", json=visit_body(ids), headers=headers).status_code == 201
    got = client.post(f"/api/v1/visits/{vid}/evidence", headers=headers, content_type="multipart/form-data",
                      data={"file": (io.BytesIO(photo(1600, 1200, seed=7)), "p.jpg", "image/jpeg")})
    assert got.status_code == 201 and got.get_json()["derivatives"] == "pending"

    seen = []
    real = media.images.display_copy

    def probing(*args, **kwargs):
        """While the worker makes a copy: could another connection start writing at once?"""
        other = sqlite3.connect(url.database, timeout=0)
        try:
            other.execute("BEGIN IMMEDIATE")
            seen.append("free")
            other.rollback()
        except sqlite3.OperationalError:
            seen.append("locked")
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(media.images, "display_copy", probing)
    with app.app_context():
        assert media.drain() == 1
    assert seen and set(seen) == {"free"}, seen
    states = client.get(f"/api/v1/visits/{vid}", headers=headers).get_json()["evidence"]
    assert [e["derivatives"] for e in states] == ["ready"]
