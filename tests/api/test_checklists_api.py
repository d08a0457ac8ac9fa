"""GET /api/v1/checklists…: list, versions, one version in full with its ETag, 304, 404, 401."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from inspect_api.checklists import services
from inspect_api.checklists.models import ChecklistVersion
from tests.helpers import ROLES, copy_v1_templates, headers_for

REPO_CHECKLISTS = Path(__file__).resolve().parents[2] / "checklists"
B = "/api/v1/checklists"


@pytest.fixture()
def published(dbsession, tmp_path):
    services.publish_all(copy_v1_templates(tmp_path / "checklists"))
    dbsession.commit()
    return {r.code: r for r in services.list_current()}


@pytest.fixture()
def headers(client):
    return headers_for(client, "inspector")


def test_list_shows_the_current_version_of_each_checklist(client, headers, published):
    resp = client.get(B, headers=headers)
    assert resp.status_code == 200
    body = resp.get_json()
    assert [c["code"] for c in body] == ["mystery_shopper", "sanxiang_covert"]
    covert = body[1]
    assert covert["version"] == 1 and covert["title"] == "三项制度落实情况暗访检查表"
    assert covert["kind"] == "inspection" and covert["is_current"] is True
    assert covert["content_hash"] == published["sanxiang_covert"].content_hash
    assert covert["item_count"] == 21
    assert set(covert) == {"code", "version", "title", "kind", "content_hash", "item_count", "is_current",
                           "published_at"}


def test_list_moves_to_a_newer_version(client, headers, published, dbsession, tmp_path):
    directory = tmp_path / "checklists"
    copy_v1_templates(directory)
    path = directory / "mystery_shopper.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("version: 1", "version: 2", 1), encoding="utf-8")
    services.publish_all(directory)
    dbsession.commit()

    listed = {c["code"]: c["version"] for c in client.get(B, headers=headers).get_json()}
    assert listed == {"mystery_shopper": 2, "sanxiang_covert": 1}
    versions = client.get(f"{B}/mystery_shopper/versions", headers=headers).get_json()
    assert [(v["version"], v["is_current"]) for v in versions] == [(2, True), (1, False)]
    latest = client.get(f"{B}/mystery_shopper", headers=headers)
    assert latest.get_json()["version"] == 2


def test_one_version_in_full_with_its_content_hash_as_strong_etag(client, headers, published):
    resp = client.get(f"{B}/mystery_shopper/versions/1", headers=headers)
    assert resp.status_code == 200
    row = published["mystery_shopper"]
    assert resp.headers["ETag"] == f'"{row.content_hash}"'
    assert resp.headers["Cache-Control"] == "private, no-cache"
    body = resp.get_json()
    assert (body["code"], body["version"], body["kind"]) == ("mystery_shopper", 1, "mystery_shopper")
    assert [s["code"] for s in body["systems"]] == ["first_inquiry", "time_limit", "attitude", "evaluation"]
    items = {i["code"]: i for s in body["systems"] for i in s["items"]}
    attitude = items["E1"]
    assert [c["label"] for c in attitude["choices"]] == ["热情", "一般", "生冷", "粗暴"]
    assert attitude["fail_choices"] == ["cold", "rude"]
    assert (attitude["category"], attitude["category_label"]) == ("poor_attitude", "服务态度生冷、粗暴")
    assert (attitude["severity"], attitude["severity_label"], attitude["points"]) == ("serious", "较重", 5)
    assert attitude["photo_required"] is False  # not written in the file: the default is filled in
    assert items["B1"]["unit"] == "分钟" and items["B1"]["max"] == 600 and "category" not in items["B1"]
    assert items["A1"]["fail_answer"] == "no" and items["A1"]["seed"]


def test_latest_is_the_same_document_as_its_version(client, headers, published):
    latest = client.get(f"{B}/sanxiang_covert", headers=headers)
    pinned = client.get(f"{B}/sanxiang_covert/versions/1", headers=headers)
    assert latest.status_code == pinned.status_code == 200
    assert latest.get_json() == pinned.get_json()
    assert latest.headers["ETag"] == pinned.headers["ETag"]


@pytest.mark.parametrize("path", ["/sanxiang_covert/versions/1", "/sanxiang_covert"])
def test_if_none_match_with_the_hash_gives_304(client, headers, published, path):
    etag = f'"{published["sanxiang_covert"].content_hash}"'
    for sent in (etag, f"W/{etag}", f'"other", {etag}'):
        resp = client.get(B + path, headers={**headers, "If-None-Match": sent})
        assert resp.status_code == 304, sent
        assert resp.data == b"" and resp.headers["ETag"] == etag
    stale = client.get(B + path, headers={**headers, "If-None-Match": '"0000"'})
    assert stale.status_code == 200 and stale.get_json()["code"] == "sanxiang_covert"


@pytest.mark.parametrize("path", ["/nothing", "/nothing/versions", "/nothing/versions/1",
                                  "/sanxiang_covert/versions/2", "/sanxiang_covert/versions/99999999999"])
def test_unknown_checklist_or_version_is_404_json(client, headers, published, path):
    resp = client.get(B + path, headers=headers)
    assert resp.status_code == 404
    assert resp.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("path", ["", "/sanxiang_covert", "/sanxiang_covert/versions", "/sanxiang_covert/versions/1"])
def test_reading_needs_a_token(client, published, path):
    resp = client.get(B + path)
    assert resp.status_code == 401
    assert resp.get_json()["error"]["code"] in ("invalid_token", "unauthorized")


@pytest.mark.parametrize("role", ROLES)
def test_every_role_may_read(client, published, role):
    headers = headers_for(client, role)
    assert client.get(B, headers=headers).status_code == 200
    assert client.get(f"{B}/sanxiang_covert/versions/1", headers=headers).status_code == 200


def test_a_tampered_version_is_refused_not_served(client, headers, published, dbsession):
    dbsession.execute(sa.update(ChecklistVersion).where(ChecklistVersion.code == "sanxiang_covert").values(
        content=sa.func.replace(ChecklistVersion.content, "粗暴", "严厉")))
    dbsession.commit()
    resp = client.get(f"{B}/sanxiang_covert/versions/1", headers=headers)
    assert resp.status_code == 500
    assert resp.get_json()["error"]["code"] == "checklist_tampered"
    assert "ETag" not in resp.headers


def test_openapi_documents_the_checklist_schemas(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    op = spec["paths"]["/api/v1/checklists/{code}/versions/{version}"]["get"]
    assert {"200", "304", "401", "404"} <= set(op["responses"])
    assert set(op["x-roles"]) == set(ROLES)
    schemas = spec["components"]["schemas"]
    assert "Checklist" in schemas and "Item" in schemas["System"]["properties"]["items"]["items"]["$ref"]


def _check(client, content: bytes, name: str = "t.yaml"):
    return client.post(f"{B}/validate", headers=headers_for(client, "admin"),
                       data={"file": (io.BytesIO(content), name)}, content_type="multipart/form-data")


def test_an_uploaded_template_is_validated_and_compared_with_the_published_version(client, published):
    text = (REPO_CHECKLISTS / "sanxiang_covert.yaml").read_text(encoding="utf-8")
    same = _check(client, text.encode())
    assert same.status_code == 200, same.get_json()
    body = same.get_json()
    assert body["valid"] is True and body["published"] == "same" and body["code"] == "sanxiang_covert"
    assert body["item_count"] > 0 and body["content_hash"] == published["sanxiang_covert"].content_hash
    # the same version with other content: a published version never changes
    changed = _check(client, text.replace("？", "?", 1).encode()).get_json()
    assert changed["valid"] is False and changed["published"] == "conflict"
    assert changed["problems"][0]["field"] == "version"
    bumped = _check(client, text.replace("version: 1", "version: 99", 1).encode()).get_json()
    assert bumped["valid"] is True and bumped["published"] == "new" and bumped["version"] == 99
    # every problem, located
    bad = _check(client, b"code: x\nversion: 1\n").get_json()
    assert bad["valid"] is False and bad["problems"] and all(p["message"] for p in bad["problems"])
    syntax = _check(client, b"code: [unclosed\n").get_json()
    assert syntax["valid"] is False and syntax["problems"][0]["line"]
    nonutf = _check(client, "code: 检查".encode("gbk"))
    assert nonutf.status_code == 422 and "UTF-8" in nonutf.get_json()["error"]["message"]
    assert _check(client, b"x" * 1_000_001).status_code == 422
    missing = client.post(f"{B}/validate", headers=headers_for(client, "admin"), data={},
                          content_type="multipart/form-data")
    assert missing.status_code == 422
    office = client.post(f"{B}/validate", headers=headers_for(client, "office"),
                         data={"file": (io.BytesIO(b"x"), "t.yaml")}, content_type="multipart/form-data")
    assert office.status_code == 403
