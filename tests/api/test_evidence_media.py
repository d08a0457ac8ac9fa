"""Photos off the request path: the upload stores and checks the original and answers; the media
worker makes the display copy, thumbnail and watermarked copy, and the API says when they are ready.
Several workers never take the same photo; one that died is replaced when its lease runs out; a photo
whose copies cannot be made ends `failed` and says so."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from inspect_api.visits import media
from inspect_api.visits.models import Evidence
from tests.api.conftest import new_id
from tests.helpers import headers_for, make_photo_copies
from tests.images import photo, png_claiming, truncated_jpeg

COPIES = ("display", "thumbnail", "watermarked")


@pytest.fixture()
def visit_id(client, field):
    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha).status_code == 201
    return vid


def upload(client, field, vid, data: bytes, name="p.jpg", mime="image/jpeg"):
    return client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, mime), "item_code": "A1"})


def test_the_upload_answers_pending_and_the_copies_say_when_to_ask_again(app, client, field, visit_id):
    data = photo(1600, 1200, seed=51)
    ev = upload(client, field, visit_id, data).get_json()
    assert ev["derivatives"] == "pending"
    root = Path(app.config["INSPECT_STORAGE_DIR"])
    assert (root / f"originals/{ev['sha256'][:2]}/{ev['sha256']}.jpg").read_bytes() == data
    assert not (root / "derived" / ev["sha256"][:2] / ev["sha256"]).exists()  # nothing made on the request path
    for variant in COPIES:
        got = client.get(ev["links"][variant], headers=field.ha)
        assert got.status_code == 202 and got.headers["Retry-After"] == str(media.RETRY_AFTER_S), variant
        assert got.get_json() == {"derivatives": "pending", "retry_after": media.RETRY_AFTER_S}
        assert got.headers["Cache-Control"] == "no-store"
    assert client.get(ev["links"]["original"], headers=field.ha).data == data  # the original is there at once
    visit = client.get(f"/api/v1/visits/{visit_id}", headers=field.ha).get_json()
    assert [e["derivatives"] for e in visit["evidence"]] == ["pending"]

    assert make_photo_copies() == 1
    visit = client.get(f"/api/v1/visits/{visit_id}", headers=field.ha).get_json()
    assert [e["derivatives"] for e in visit["evidence"]] == ["ready"]
    sizes = {}
    for variant in COPIES:
        got = client.get(ev["links"][variant], headers=field.ha)
        assert got.status_code == 200 and got.mimetype == "image/jpeg", variant
        sizes[variant] = Image.open(io.BytesIO(got.data)).size
    assert sizes["display"] == sizes["watermarked"] == (1600, 1200) and max(sizes["thumbnail"]) == 320
    # a resend of the same bytes answers the record as it now is
    again = upload(client, field, visit_id, data)
    assert again.status_code == 200 and again.get_json()["derivatives"] == "ready"
    assert make_photo_copies() == 0


def test_a_liaison_learns_nothing_from_a_pending_copy(client, field, visit_id):
    ev = upload(client, field, visit_id, photo(seed=52)).get_json()
    liaison = headers_for(client, "unit_liaison", field.unit)
    assert client.get(ev["links"]["watermarked"], headers=liaison).status_code == 404  # not 202: no finding confirmed


@pytest.mark.parametrize("data,status,code", [
    (truncated_jpeg(), 422, "image_broken"),
    (photo(seed=53)[:-2000], 422, "image_broken"),                  # the end of the scan missing
    (b"\xff\xd8\xff\xe0" + bytes(5000), 415, "not_an_image"),      # JPEG's first markers, then nothing real
    (png_claiming(30000, 30000), 422, "image_too_large"),
], ids=["truncated-half", "truncated-tail", "fake-jpeg", "huge-dimensions"])
def test_broken_fake_and_huge_images_are_still_refused_at_upload(app, client, field, visit_id, dbsession, data,
                                                                 status, code):
    resp = upload(client, field, visit_id, data)
    assert resp.status_code == status and resp.get_json()["error"]["code"] == code
    assert dbsession.query(Evidence).filter_by(visit_id=visit_id).count() == 0
    assert make_photo_copies() == 0  # nothing was queued


def test_two_workers_never_take_the_same_photo_and_a_dead_ones_lease_runs_out(client, field, visit_id, clock):
    first = upload(client, field, visit_id, photo(seed=54)).get_json()
    clock.advance(seconds=1)
    second = upload(client, field, visit_id, photo(seed=55)).get_json()
    a, b = media.claim_next(), media.claim_next()  # two workers, one after the other
    assert {a, b} == {first["id"], second["id"]}
    assert media.claim_next() is None  # both are held
    media.process(b)
    # the worker holding `a` died; once its lease runs out another takes it over
    clock.advance(seconds=media.LEASE.total_seconds() - 1)
    assert media.claim_next() is None
    clock.advance(seconds=2)
    assert media.claim_next() == a
    assert media.process(a) == "ready"
    assert media.claim_next() is None


def test_a_photo_whose_copies_cannot_be_made_ends_failed(app, client, field, visit_id, dbsession):
    ev = upload(client, field, visit_id, photo(seed=56)).get_json()
    original = Path(app.config["INSPECT_STORAGE_DIR"]) / f"originals/{ev['sha256'][:2]}/{ev['sha256']}.jpg"
    kept = original.read_bytes()
    original.write_bytes(b"not a picture any more")  # the disk went bad under it
    try:
        states = []
        for _ in range(media.MAX_ATTEMPTS):
            states.append(media.process(media.claim_next()))
        assert states == ["pending"] * (media.MAX_ATTEMPTS - 1) + ["failed"]
        assert media.claim_next() is None
        row = dbsession.get(Evidence, ev["id"])
        assert row.derivatives == "failed" and "UnidentifiedImageError" in row.derivatives_error
        got = client.get(ev["links"]["thumbnail"], headers=field.ha)
        assert got.status_code == 404 and got.get_json()["error"]["code"] == "derivative_failed"
        assert client.get(ev["links"]["original"], headers=field.ha).status_code == 200
    finally:
        original.write_bytes(kept)


def test_a_document_needing_a_photo_no_worker_reached_makes_its_copies_itself(app, client, field, visit_id,
                                                                              tmp_path):
    from inspect_api.documents.context import resolve_photos

    ev = upload(client, field, visit_id, photo(1200, 900, seed=57)).get_json()
    ctx = resolve_photos({"items": [{"photos": [f"evidence:{ev['id']}"]}], "typical_cases": []}, tmp_path)
    [path] = ctx["items"][0]["photos"]
    assert Path(path).parent == tmp_path and Image.open(path).format == "JPEG"
    assert client.get(ev["links"]["watermarked"], headers=field.ha).status_code == 200
    assert make_photo_copies() == 0  # nothing left for the media worker


def test_the_copies_are_made_at_the_workers_lower_priority_the_rows_written_at_the_callers(
        app, client, field, visit_id, monkeypatch):
    import threading

    def nice():
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    monkeypatch.setitem(app.config, "INSPECT_WORKER_NICE", 6)
    seen = []
    real = media.make_copies
    monkeypatch.setattr(media, "make_copies", lambda *a: (seen.append(nice()), real(*a))[1])
    base = nice()
    upload(client, field, visit_id, photo(800, 600, seed=61))
    assert make_photo_copies() == 1
    assert seen == [min(19, base + 6)] and nice() == base
    visit = client.get(f"/api/v1/visits/{visit_id}", headers=field.ha).get_json()
    assert [e["derivatives"] for e in visit["evidence"]] == ["ready"]
