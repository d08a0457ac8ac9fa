"""The evidence path end to end on S3-compatible storage (moto's S3 server over HTTP)."""

from __future__ import annotations

import io

import pytest

from tests.api.conftest import new_id
from tests.helpers import make_photo_copies
from tests.images import photo
from tests.integration.test_storage import s3, s3_endpoint  # noqa: F401  (fixtures)


@pytest.fixture()
def on_s3(app, s3):  # noqa: F811
    original = app.extensions.get("inspect_storage")
    app.extensions["inspect_storage"] = s3
    yield s3
    app.extensions["inspect_storage"] = original


def test_upload_and_download_through_s3(client, field, on_s3):
    vid = new_id()
    assert client.put(f"/api/v1/visits/{vid}", json=field.visit(), headers=field.ha).status_code == 201
    data = photo(900, 700, seed=31)
    resp = client.post(f"/api/v1/visits/{vid}/evidence", headers=field.ha, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), "a1.jpg", "image/jpeg"), "item_code": "A1"})
    assert resp.status_code == 201, resp.get_json()
    ev = resp.get_json()
    key = f"originals/{ev['sha256'][:2]}/{ev['sha256']}.jpg"
    assert on_s3.exists(key)
    assert client.get(ev["links"]["original"], headers=field.ha).data == data
    assert client.get(ev["links"]["thumbnail"], headers=field.ha).status_code == 202  # not made yet
    assert make_photo_copies() == 1  # the media worker reads the original from S3 and stores the copies there
    assert client.get(ev["links"]["thumbnail"], headers=field.ha).status_code == 200
    for variant in ("display", "thumbnail", "watermarked"):
        assert on_s3.exists(f"derived/{ev['sha256'][:2]}/{ev['sha256']}/" + {
            "display": "display.jpg", "thumbnail": "thumb.jpg"}.get(variant, f"wm-{_code(client, field, vid)}.jpg"))
    assert client.get("/api/v1/health").get_json()["storage"]["kind"] == "s3"


def _code(client, field, vid) -> str:
    return client.get(f"/api/v1/visits/{vid}", headers=field.ha).get_json()["code"]
