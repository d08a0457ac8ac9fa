"""POST /api/v1/org/imports/<kind>: admins upload CSV or XLSX; a bad file is a 422 listing each
row's errors with nothing imported; other roles get 403."""

from __future__ import annotations

import io

import openpyxl
import sqlalchemy as sa

from inspect_api.db import db
from inspect_api.org.models import Unit
from tests.helpers import headers_for

URL = "/api/v1/org/imports/units"
UNITS = "单位编码,单位名称,类型,上级单位编码,办公时间\nAPI-W,1号窗口,窗口,API,9:00-12:00\nAPI,示范县人民政府,县,,\n"


def upload(client, headers, data: bytes, name: str = "units.csv", url: str = URL):
    return client.post(url, headers=headers, data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def api_units() -> set[str]:
    return set(db.session.scalars(sa.select(Unit.code).where(Unit.code.like("API%"))))


def test_admin_imports_units_and_gets_the_report(client):
    admin = headers_for(client, "admin")
    resp = upload(client, admin, UNITS.encode())
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json() == {"kind": "units", "rows": 2, "created": 2, "updated": 0, "unchanged": 0, "errors": []}
    assert api_units() == {"API", "API-W"}
    again = upload(client, admin, UNITS.encode("gb18030"))
    assert again.status_code == 200 and again.get_json()["unchanged"] == 2


def test_admin_imports_xlsx(client):
    book = openpyxl.Workbook()
    for row in [["单位编码", "单位名称", "类型"], ["API", "示范县人民政府", "县"]]:
        book.active.append(row)
    buf = io.BytesIO()
    book.save(buf)
    resp = upload(client, headers_for(client, "admin"), buf.getvalue(), "单位.xlsx")
    assert resp.status_code == 200 and resp.get_json()["created"] == 1


def test_bad_file_is_422_with_row_errors_and_nothing_imported(client):
    data = (UNITS + "API-X,,部委,API-NONE,\n").encode()
    resp = upload(client, headers_for(client, "admin"), data)
    assert resp.status_code == 422
    error = resp.get_json()["error"]
    assert error["code"] == "import_failed" and "未导入任何数据" in error["message"]
    assert error["details"]["rows"] == 3
    assert [(e["row"], e["column"]) for e in error["details"]["errors"]] == [
        (4, "单位名称"), (4, "类型"), (4, "上级单位编码")]
    assert all(e["reason"] for e in error["details"]["errors"])
    assert api_units() == set()


def test_a_file_that_is_not_a_table_is_422_with_a_file_level_error(client):
    resp = upload(client, headers_for(client, "admin"), b"\x89PNG\r\n\x1a\n\x00\x00\x00", "photo.png")
    assert resp.status_code == 422
    [error] = resp.get_json()["error"]["details"]["errors"]
    assert error["row"] == 0 and error["column"] is None and ".png" in error["reason"]


def test_office_may_not_import(client):
    resp = upload(client, headers_for(client, "office"), UNITS.encode())
    assert resp.status_code == 403
    assert api_units() == set()


def test_unknown_kind_is_422(client):
    resp = upload(client, headers_for(client, "admin"), UNITS.encode(), url="/api/v1/org/imports/visits")
    assert resp.status_code == 422
