"""Photo evidence: real JPEG, PNG and HEIC files in, every bad kind refused with nothing stored."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image, ImageStat

from inspect_api.visits.models import Evidence
from tests.api.conftest import new_id
from tests.helpers import headers_for, make_photo_copies
from tests.images import mpo, photo, png_claiming, truncated_jpeg, with_maker_notes, zip_bytes


@pytest.fixture()
def visit_id(client, field):
    vid = new_id()
    resp = client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha)
    assert resp.status_code == 201
    return vid


def upload(client, field, vid, data: bytes, name="p.jpg", mime="image/jpeg", **form):
    return client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha,
                       data={"file": (io.BytesIO(data), name, mime), **form}, content_type="multipart/form-data")


def stored_files(app) -> list[Path]:
    root = Path(app.config["INSPECT_STORAGE_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_jpeg_is_kept_byte_for_byte_with_exif_facts_and_derived_copies(app, client, field, visit_id):
    data = photo(1600, 1200, taken=datetime(2026, 11, 23, 9, 41, 5), gps=(30.5, 104.25))
    resp = upload(client, field, visit_id, data, item_code="A1")
    assert resp.status_code == 201, resp.get_json()
    ev = resp.get_json()
    assert ev["width"] == 1600 and ev["height"] == 1200 and ev["media_type"] == "image/jpeg"
    assert ev["captured_at"].startswith("2026-11-23T01:41:05")  # 09:41 Beijing time, stored as UTC
    assert ev["gps_lat"] == pytest.approx(30.5, abs=1e-4) and ev["gps_lng"] == pytest.approx(104.25, abs=1e-4)
    assert ev["derivatives"] == "pending"  # the upload answers before the copies are made
    original = client.get(ev["links"]["original"], headers=field.ha)
    assert original.status_code == 200 and original.data == data
    assert make_photo_copies() == 1
    display = Image.open(io.BytesIO(client.get(ev["links"]["display"], headers=field.ha).data))
    assert max(display.size) <= 2048 and not display.getexif()  # metadata stripped
    thumb = Image.open(io.BytesIO(client.get(ev["links"]["thumbnail"], headers=field.ha).data))
    assert max(thumb.size) <= 320
    marked = Image.open(io.BytesIO(client.get(ev["links"]["watermarked"], headers=field.ha).data))
    assert marked.size == display.size
    # the stamp darkens the foot of the picture
    def foot(img):
        return ImageStat.Stat(img.crop((0, img.height - 10, img.width, img.height)).convert("L")).mean[0]

    assert foot(marked) < foot(display) - 20


def test_same_bytes_again_answer_the_existing_record(client, field, visit_id, dbsession):
    data = photo(seed=3)
    first = upload(client, field, visit_id, data)
    second = upload(client, field, visit_id, data, name="again.jpg")
    assert first.status_code == 201 and second.status_code == 200
    assert first.get_json()["id"] == second.get_json()["id"]
    assert dbsession.query(Evidence).filter_by(visit_id=visit_id).count() == 1


def test_orientation_is_applied_to_copies_not_the_original(client, field, visit_id):
    data = photo(400, 200, orientation=6)  # rotate 90° clockwise to view
    ev = upload(client, field, visit_id, data).get_json()
    make_photo_copies()
    display = Image.open(io.BytesIO(client.get(ev["links"]["display"], headers=field.ha).data))
    assert display.size == (200, 400)
    assert client.get(ev["links"]["original"], headers=field.ha).data == data


def test_png_is_accepted(client, field, visit_id):
    resp = upload(client, field, visit_id, photo(300, 200, fmt="PNG"), name="shot.png", mime="image/png")
    assert resp.status_code == 201 and resp.get_json()["media_type"] == "image/png"


def test_heic_produces_the_derived_copies(client, field, visit_id):
    data = photo(640, 480, fmt="HEIF", taken=datetime(2026, 11, 23, 10, 0, 0))
    resp = upload(client, field, visit_id, data, name="IMG_0001.HEIC", mime="image/heic")
    assert resp.status_code == 201, resp.get_json()
    ev = resp.get_json()
    assert ev["media_type"] == "image/heic" and (ev["width"], ev["height"]) == (640, 480)
    make_photo_copies()
    for variant in ("display", "thumbnail", "watermarked"):
        got = client.get(ev["links"][variant], headers=field.ha)
        assert got.status_code == 200 and Image.open(io.BytesIO(got.data)).format == "JPEG"



def test_a_phone_holding_a_photo_revalidates_it_with_a_bodiless_304(client, field, visit_id):
    ev = upload(client, field, visit_id, photo(seed=7)).get_json()
    make_photo_copies()
    first = client.get(ev["links"]["thumbnail"], headers=field.ha)
    tag = first.headers["ETag"]
    for sent in (tag, f"W/{tag}", f'"other", {tag}'):
        again = client.get(ev["links"]["thumbnail"], headers={**field.ha, "If-None-Match": sent})
        assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag, sent
    assert client.get(ev["links"]["thumbnail"], headers={**field.ha, "If-None-Match": '"other"'}).data == first.data


@pytest.mark.parametrize("data,name,mime,status,code", [
    (b"%PDF-1.7 not a photo at all", "doc.pdf", "application/pdf", 415, "not_an_image"),
    (b"GIF89a" + bytes(200), "anim.gif", "image/gif", 415, "not_an_image"),
    (truncated_jpeg(), "cut.jpg", "image/jpeg", 422, "image_broken"),
    (png_claiming(8000, 7000), "bomb.png", "image/png", 422, "image_too_large"),  # 56 MP: between 1x and 2x
    (png_claiming(20000, 20000), "bomb2.png", "image/png", 422, "image_too_large"),  # 400 MP: beyond 2x
    (photo(fmt="PNG"), "fake.jpg", "image/jpeg", 422, "type_mismatch"),
    (b"", "empty.jpg", "image/jpeg", 422, "validation_error"),
], ids=["pdf", "gif", "truncated", "bomb-1x-2x", "bomb-beyond-2x", "png-as-jpeg", "empty"])
def test_bad_files_are_refused_and_nothing_is_stored(app, client, field, visit_id, dbsession, data, name, mime,
                                                     status, code):
    before = stored_files(app)
    resp = upload(client, field, visit_id, data, name=name, mime=mime)
    assert resp.status_code == status, resp.get_json()
    assert resp.get_json()["error"]["code"] == code
    assert dbsession.query(Evidence).filter_by(visit_id=visit_id).count() == 0
    assert stored_files(app) == before
    assert not list((Path(app.config["INSPECT_STORAGE_DIR"]) / ".incoming").glob("*"))


def test_unknown_item_or_finding_is_422(client, field, visit_id):
    assert upload(client, field, visit_id, photo(seed=5), item_code="NOPE").status_code == 422
    assert upload(client, field, visit_id, photo(seed=6), finding_id=new_id()).status_code == 422


def test_a_photo_names_only_a_finding_of_its_own_visit(client, field, visit_id, dbsession):
    """The finding a photo illustrates is looked up by its id within the visit: one of another visit
    of the same team is refused like an unknown one, and nothing is stored."""
    other = new_id()
    theirs = client.put(f"/api/v1/visits/{other}", json=field.visit(), headers=field.ha).get_json()["findings"][0]
    ours = client.get(f"/api/v1/visits/{visit_id}", headers=field.ha).get_json()["findings"][0]
    refused = upload(client, field, visit_id, photo(seed=31), finding_id=theirs["id"])
    assert refused.status_code == 422
    assert refused.get_json()["error"]["details"]["fields"] == {"finding_id": ["unknown"]}
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Evidence).where(Evidence.visit_id == visit_id)) == 0
    ok = upload(client, field, visit_id, photo(seed=31), finding_id=ours["id"])
    assert ok.status_code == 201 and ok.get_json()["finding_id"] == ours["id"]


def test_an_upload_reads_no_rows_it_does_not_decide_on(client, field, visit_id):
    """A phone sends three photos a visit, so the upload is its most frequent request: what it reads
    before writing is the visit's row, its team, the same bytes already stored, and the one finding
    named (not the visit's answers, findings or photos); under the write lock, one statement re-reads
    the status and the same bytes before the row is inserted."""
    from inspect_api.db import db

    finding = client.get(f"/api/v1/visits/{visit_id}", headers=field.ha).get_json()["findings"][0]["id"]
    upload(client, field, visit_id, photo(seed=32), item_code="A1")  # the checklist's parse is behind us
    seen: list[str] = []

    def listen(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        resp = upload(client, field, visit_id, photo(seed=33), finding_id=finding)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", listen)
    assert resp.status_code == 201
    seen = [s for s in seen if s.split()[0] in ("SELECT", "INSERT", "UPDATE", "DELETE")
            and " FROM auth_sessions " not in s]  # not SAVEPOINT, nor the token's session check
    locked = next(i for i, s in enumerate(seen) if s.startswith("SELECT visits.status, (SELECT evidence.id FROM evidence"))
    assert seen[locked + 1].startswith("INSERT INTO evidence "), seen[locked:]
    reads = [s for s in seen[:locked] if "pg_advisory_xact_lock" not in s]  # PostgreSQL's lock on the photo
    tables = [s.split(" FROM ", 1)[1].split()[0] for s in reads]
    assert sorted(tables) == ["evidence", "findings", "visit_inspectors", "visits"], reads
    assert [s.split(" WHERE ")[0] for s in reads if " FROM findings " in s] == ["SELECT findings.id FROM findings"]


def test_a_photo_is_written_once_where_it_is_stored_and_nothing_stays_in_scratch(app, client, field, visit_id,
                                                                                monkeypatch):
    """The multipart parser writes the file part into the store's scratch space while hashing it, and
    that same file (its inode) becomes the stored original: no second copy. An upload refused before
    its file is looked at, or after, leaves nothing in scratch."""
    import os

    from inspect_api.core import storage

    inodes: list[int] = []
    made = storage.HashedSpool.__init__

    def spy(self, scratch_dir):
        made(self, scratch_dir)
        inodes.append(os.fstat(self._file.fileno()).st_ino)

    monkeypatch.setattr(storage.HashedSpool, "__init__", spy)
    data = photo(seed=34)
    ev = upload(client, field, visit_id, data, item_code="A1").get_json()
    stored = [p for p in stored_files(app) if p.name.startswith(ev["sha256"])]
    assert len(inodes) == 1 and [p.stat().st_ino for p in stored] == inodes and stored[0].read_bytes() == data
    assert upload(client, field, new_id(), photo(seed=35)).status_code == 404  # no such visit
    assert upload(client, field, visit_id, truncated_jpeg()).status_code == 422
    assert len(inodes) == 3 and not list((Path(app.config["INSPECT_STORAGE_DIR"]) / ".incoming").iterdir())


def test_too_large_upload_is_a_json_413(app, client, field, visit_id):
    big = b"\xff\xd8" + bytes(app.config["MAX_CONTENT_LENGTH"])
    resp = upload(client, field, visit_id, big)
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "payload_too_large"


def test_evidence_access_per_role(client, field, visit_id):
    ev = upload(client, field, visit_id, photo(seed=9), item_code="A1").get_json()
    make_photo_copies()
    for variant, link in ev["links"].items():
        assert client.get(link, headers=field.hb).status_code == 200, variant  # the other team member
        assert client.get(link, headers=headers_for(client, "office")).status_code == 200
        assert client.get(link, headers=headers_for(client, "inspector")).status_code == 404  # not on the team
        # a liaison never sees originals, and sees nothing until a finding about its unit is confirmed
        assert client.get(link, headers=headers_for(client, "unit_liaison", field.unit)).status_code == 404
    assert client.get(ev["links"]["original"], headers=headers_for(client, "leader")).status_code == 403


def test_evidence_after_submit_is_refused_but_a_resend_of_stored_bytes_is_fine(client, field, visit_id):
    data = photo(seed=11)
    assert upload(client, field, visit_id, data, item_code="A1").status_code == 201
    assert client.post(f"/api/v1/visits/{visit_id}/submit", headers=field.ha).status_code == 200
    assert upload(client, field, visit_id, data, item_code="A1").status_code == 200
    late = upload(client, field, visit_id, photo(seed=12))
    assert late.status_code == 409 and late.get_json()["error"]["code"] == "visit_frozen"


def test_a_truncated_photo_is_refused_even_after_weasyprint_was_imported(client, field):
    """WeasyPrint turns on Pillow's LOAD_TRUNCATED_IMAGES globally when imported."""
    import weasyprint  # noqa: F401
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = True  # as WeasyPrint leaves it
    vid = new_id()
    client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha)
    resp = client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(truncated_jpeg()), "cut.jpg", "image/jpeg")})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "image_broken"


@pytest.mark.parametrize("make,name,mime,media_type,size", [
    (lambda: mpo(1200, 900, seed=3), "IMG_0001.JPG", "image/jpeg", "image/jpeg", (1200, 900)),
    (lambda: mpo(800, 600, seed=4), "IMG_0002.MPO", "application/octet-stream", "image/jpeg", (800, 600)),
    (lambda: photo(640, 480, fmt="HEIF", seed=5), "IMG_0003.HEIC", "image/heic", "image/heic", (640, 480)),
    (lambda: with_maker_notes(seed=6), "IMG_0004.jpg", "image/jpeg", "image/jpeg", (800, 600)),
    (lambda: photo(800, 600, orientation=6, seed=7), "IMG_0005.jpg", "image/jpeg", "image/jpeg", (800, 600)),
], ids=["mpo", "mpo-by-name", "heic", "maker-notes", "portrait"])
def test_what_phones_write_is_accepted_and_kept_byte_for_byte(client, field, visit_id, make, name, mime,
                                                             media_type, size):
    data = make()
    resp = upload(client, field, visit_id, data, name=name, mime=mime)
    assert resp.status_code == 201, resp.get_json()
    ev = resp.get_json()
    assert ev["media_type"] == media_type and (ev["width"], ev["height"]) == size
    assert client.get(ev["links"]["original"], headers=field.ha).data == data
    make_photo_copies()
    display = Image.open(io.BytesIO(client.get(ev["links"]["display"], headers=field.ha).data))
    if name == "IMG_0005.jpg":  # orientation 6: the copies stand upright
        assert display.size == (600, 800)


@pytest.mark.parametrize("data,name,mime,code,says", [
    (photo(seed=8) + zip_bytes(), "p.jpg", "image/jpeg", "trailing_data", "字节"),
    (photo(fmt="PNG", seed=9) + b"<html><script>alert(1)</script></html>", "p.png", "image/png", "trailing_data", "字节"),
    (photo(fmt="HEIF", seed=10) + zip_bytes(), "p.heic", "image/heic", "trailing_data", "字节"),
    (mpo(seed=11) + zip_bytes(), "p.jpg", "image/jpeg", "trailing_data", "字节"),
    (photo(seed=12), "p.html", "text/html", "type_mismatch", "text/html"),
    (photo(seed=13), "p.gif", "image/gif", "type_mismatch", "image/gif"),
    (photo(seed=14), "p.gif", "application/octet-stream", "type_mismatch", ".gif"),
], ids=["jpeg+zip", "png+html", "heic+zip", "mpo+zip", "declared-html", "declared-gif", "named-gif"])
def test_appended_data_or_a_false_declared_type_is_refused_naming_why(app, client, field, visit_id, dbsession,
                                                                       data, name, mime, code, says):
    before = stored_files(app)
    resp = upload(client, field, visit_id, data, name=name, mime=mime)
    assert resp.status_code == 422, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == code and says in error["message"]
    assert dbsession.query(Evidence).filter_by(visit_id=visit_id).count() == 0
    assert stored_files(app) == before
