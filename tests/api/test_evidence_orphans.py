"""Photo originals no evidence row names do not pile up in storage: an upload refused after its
original was moved in removes it (unless another row names it), and the sweep removes what a crash
left once older than the grace period, on a local directory and on S3 (moto's server over HTTP)."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_api.core.storage import LocalStorage
from inspect_api.scheduler import JOBS
from inspect_api.visits import orphans
from inspect_api.visits import services as visit_services
from inspect_api.visits.models import Evidence
from tests.api.conftest import new_id
from tests.helpers import make_photo_copies
from tests.images import photo
from tests.integration.test_storage import s3, s3_endpoint  # noqa: F401  (fixtures)


@pytest.fixture()
def store(request, app, tmp_path):
    """The app's storage for this test only: a fresh local directory, or an S3 bucket."""
    backend = (LocalStorage(str(tmp_path / "store")) if getattr(request, "param", "local") == "local"
               else request.getfixturevalue("s3"))
    original = app.extensions.pop("inspect_storage", None)
    app.extensions["inspect_storage"] = backend
    yield backend
    app.extensions.pop("inspect_storage")
    if original is not None:
        app.extensions["inspect_storage"] = original


both = pytest.mark.parametrize("store", ["local", "s3"], indirect=True)


def _original_key(data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    return f"originals/{sha[:2]}/{sha}.jpg"


def _draft(client, field) -> str:
    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha).status_code == 201
    return vid


def _upload(client, field, vid, data, item_code="A1"):
    return client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "p.jpg", "image/jpeg"), "item_code": item_code})


def _after_move_in(monkeypatch, store, action):
    """Run `action()` right after the upload's original is moved in, before its write lock: where
    another request (a teammate's phone submitting the visit, say) can come in between."""
    real = store.move_in
    calls = []

    def move_in(key, src):
        wait = real(key, src)
        if not calls:
            calls.append(key)
            action()
        return wait
    monkeypatch.setattr(store, "move_in", move_in)
    return calls


# --- refusal after the move -------------------------------------------------------------------

@both
def test_a_visit_submitted_between_check_and_write_leaves_no_original(client, field, store, monkeypatch):
    vid = _draft(client, field)
    assert _upload(client, field, vid, photo(seed=61)).status_code == 201  # A1's required photo
    late = photo(seed=62)

    def teammate_submits():
        assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.hb).get_json()["status"] == "submitted"

    calls = _after_move_in(monkeypatch, store, teammate_submits)
    resp = _upload(client, field, vid, late, item_code="A2")
    assert calls == [_original_key(late)]  # the photo got as far as storage before the refusal
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "visit_frozen"
    assert not store.exists(_original_key(late))
    assert store.exists(_original_key(photo(seed=61)))  # the visit's own photo is untouched


def test_a_refused_upload_keeps_an_original_another_visits_row_names(client, field, store, monkeypatch):
    shared = photo(seed=63)
    other = _draft(client, field)
    assert _upload(client, field, other, shared).status_code == 201
    vid = _draft(client, field)
    assert _upload(client, field, vid, photo(seed=64)).status_code == 201

    def teammate_submits():
        assert client.post(f"/api/v1/visits/{vid}/submit", headers=field.hb).status_code == 200

    _after_move_in(monkeypatch, store, teammate_submits)
    resp = _upload(client, field, vid, shared, item_code="A2")
    assert resp.status_code == 409
    assert store.exists(_original_key(shared))  # the other visit's row names it
    assert client.get(f"/api/v1/visits/{other}", headers=field.ha).status_code == 200


def test_a_database_error_after_the_move_leaves_no_original(client, field, store, monkeypatch, dbsession):
    from inspect_api.db import db

    vid = _draft(client, field)
    data = photo(seed=65)

    def broken_audit(*args, **kwargs):  # a real database error inside the upload's transaction
        db.session.execute(sa.text("SELECT no_such_column FROM evidence"))
    monkeypatch.setattr(visit_services.audit, "record", broken_audit)
    assert _upload(client, field, vid, data).status_code == 500
    assert not store.exists(_original_key(data))
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Evidence)
                            .where(Evidence.sha256 == hashlib.sha256(data).hexdigest())) == 0


@both
def test_an_upload_whose_original_was_removed_before_its_lock_moves_it_in_again(client, field, store, monkeypatch):
    """A twin upload's refusal (or the sweep) may remove the file between this upload's move and its
    lock; under the lock it finds it gone and moves it in again from its own scratch copy."""
    vid = _draft(client, field)
    data = photo(seed=66)
    _after_move_in(monkeypatch, store, lambda: store.delete(_original_key(data)))
    resp = _upload(client, field, vid, data)
    assert resp.status_code == 201
    assert b"".join(store.iter_bytes(_original_key(data))) == data
    assert client.get(resp.get_json()["links"]["original"], headers=field.ha).data == data


# --- the sweep ----------------------------------------------------------------------------------

def _age(store: LocalStorage, key: str, age: timedelta, now) -> None:
    stamp = (now - age).timestamp()
    os.utime(store.path(key), (stamp, stamp))


def _put(store, tmp_path: Path, key: str, data: bytes) -> str:
    src = tmp_path / f"src-{hashlib.sha256(key.encode()).hexdigest()[:8]}"
    src.write_bytes(data)
    store.put(key, src)
    return key


def test_sweep_removes_old_orphans_and_keeps_named_young_and_foreign_files(app, client, field, store, clock,
                                                                          tmp_path):
    vid = _draft(client, field)
    named_photo = photo(seed=67)
    ev = _upload(client, field, vid, named_photo).get_json()
    assert make_photo_copies() == 1
    code = client.get(f"/api/v1/visits/{vid}", headers=field.ha).get_json()["code"]
    sha = ev["sha256"]
    named = [f"originals/{sha[:2]}/{sha}.jpg", f"derived/{sha[:2]}/{sha}/display.jpg",
             f"derived/{sha[:2]}/{sha}/thumb.jpg", f"derived/{sha[:2]}/{sha}/wm-{code}.jpg"]
    orphan_photo, young_photo = photo(seed=68), photo(seed=69)
    o_sha = hashlib.sha256(orphan_photo).hexdigest()
    old_orphans = [_put(store, tmp_path, _original_key(orphan_photo), orphan_photo),
                   _put(store, tmp_path, f"derived/{o_sha[:2]}/{o_sha}/display.jpg", b"copy")]
    young = _put(store, tmp_path, _original_key(young_photo), young_photo)
    foreign = _put(store, tmp_path, "documents/ab/" + "ab" * 32 + ".pdf", b"%PDF")  # not a photo: never ours
    scratch = store.scratch_dir() / "upload-abc.part"  # an upload in progress: scratch has its own clean-up
    scratch.write_bytes(b"x")
    now = clock.now()
    for key in named + old_orphans + [foreign]:
        _age(store, key, timedelta(days=30), now)
    _age(store, young, timedelta(hours=23), now)
    os.utime(scratch, ((now - timedelta(days=3)).timestamp(),) * 2)

    runner = app.test_cli_runner()
    dry = runner.invoke(args=["media", "sweep", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "scanned 7 photo file(s): 4 named by evidence, 1 within the grace period, 2 orphaned, would remove 2" \
        in dry.output
    assert all(store.exists(k) for k in named + old_orphans + [young, foreign])  # a dry run removes nothing

    done = runner.invoke(args=["media", "sweep"])
    assert done.exit_code == 0 and "removed 2" in done.output, done.output
    assert [store.exists(k) for k in old_orphans] == [False, False]
    assert all(store.exists(k) for k in named + [young, foreign]) and scratch.exists()
    assert orphans.sweep().deleted == 0  # safe to run twice
    clock.advance(hours=2)  # the young one is now past the grace period too
    assert orphans.sweep().as_dict() == {"scanned": 5, "named": 4, "young": 0, "orphans": 1, "deleted": 1}
    assert not store.exists(young) and all(store.exists(k) for k in named)
    for variant in ("original", "display", "thumbnail", "watermarked"):
        assert client.get(ev["links"][variant], headers=field.ha).status_code == 200


def test_sweep_honours_the_grace_setting(app, client, field, store, clock, tmp_path):
    data = photo(seed=70)
    key = _put(store, tmp_path, _original_key(data), data)
    _age(store, key, timedelta(hours=5), clock.now())
    assert orphans.sweep().deleted == 0
    app.config["INSPECT_ORPHAN_GRACE_HOURS"] = 4
    try:
        assert orphans.sweep().deleted == 1
    finally:
        app.config["INSPECT_ORPHAN_GRACE_HOURS"] = 24
    assert not store.exists(key)


@pytest.mark.parametrize("store", ["s3"], indirect=True)
def test_sweep_on_s3_uses_last_modified_and_keeps_named_objects(client, field, store, clock, tmp_path):
    vid = _draft(client, field)
    named_photo = photo(seed=71)
    assert _upload(client, field, vid, named_photo).status_code == 201
    assert make_photo_copies() == 1
    orphan_photo = photo(seed=72)
    orphan = _put(store, tmp_path, _original_key(orphan_photo), orphan_photo)
    modified = store.client.head_object(Bucket=store.bucket, Key=store._key(orphan))["LastModified"]

    clock.at = modified + timedelta(hours=23)  # within the grace period: kept
    assert orphans.sweep().as_dict() == {"scanned": 5, "named": 0, "young": 5, "orphans": 0, "deleted": 0}
    clock.at = modified + timedelta(hours=25)
    dry = orphans.sweep(dry_run=True)
    assert (dry.orphans, dry.deleted, store.exists(orphan)) == (1, 0, True)
    assert orphans.sweep().as_dict() == {"scanned": 5, "named": 4, "young": 0, "orphans": 1, "deleted": 1}
    assert not store.exists(orphan) and store.exists(_original_key(named_photo))


@pytest.mark.parametrize("store", ["s3"], indirect=True)
def test_sweep_reads_every_page_of_an_s3_listing(dbsession, store, tmp_path, clock, monkeypatch):
    monkeypatch.setattr(store, "list_page", 2)
    keys = [_put(store, tmp_path, f"derived/{i:02x}/{i:064x}/thumb.jpg", b"x") for i in range(5)]
    modified = store.client.head_object(Bucket=store.bucket, Key=store._key(keys[-1]))["LastModified"]
    clock.at = modified + timedelta(days=2)
    assert orphans.sweep().as_dict() == {"scanned": 5, "named": 0, "young": 0, "orphans": 5, "deleted": 5}
    assert not any(store.exists(k) for k in keys)


def test_the_sweep_runs_nightly():
    path, trigger = JOBS["visits.sweep_orphan_media"]
    assert path == "inspect_api.visits.jobs:sweep_orphan_media"
    assert str(trigger.fields[trigger.FIELD_NAMES.index("hour")]) == "3"
