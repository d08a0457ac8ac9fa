"""The calendar behind the API: year status, deadlines, importing a later year's holiday table."""

from __future__ import annotations

import io

from tests.helpers import headers_for

TABLE_2027 = "date,kind,name\n2027-01-01,holiday,元旦\n2027-01-02,holiday,元旦\n2027-01-03,holiday,元旦\n"


def upload(client, headers, text, name="2027.csv"):
    return client.post("/api/v1/calendar/import", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(text.encode()), name, "text/csv")})


def test_a_december_deadline_is_provisional_until_the_year_is_imported(client, dbsession):
    anyone = headers_for(client, "inspector")
    years = {y["year"]: y["status"] for y in client.get("/api/v1/calendar/years?first=2026&last=2027",
                                                        headers=anyone).get_json()}
    assert years == {2026: "official", 2027: "assumed"}
    before = client.get("/api/v1/calendar/deadline?start=2026-12-28&days=5", headers=anyone).get_json()
    assert before["deadline"] == "2027-01-04" and before["provisional"] is True and before["assumed_years"] == [2027]
    assert "暂定" in before["text"]

    admin = headers_for(client, "admin")
    resp = upload(client, admin, TABLE_2027)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["years"]["2027"] == {"holidays": 3, "working_weekends": 0, "replaced_rows": 0}
    after = client.get("/api/v1/calendar/deadline?start=2026-12-28&days=5", headers=anyone).get_json()
    assert after["deadline"] == "2027-01-05" and after["provisional"] is False
    years = {y["year"]: y["status"] for y in client.get("/api/v1/calendar/years?first=2027&last=2027",
                                                        headers=anyone).get_json()}
    assert years == {2027: "loaded"}
    # importing the year again replaces it whole
    again = upload(client, admin, "date,kind,name\n2027-01-01,holiday,元旦\n")
    assert again.get_json()["years"]["2027"]["replaced_rows"] == 3
    assert client.get("/api/v1/calendar/deadline?start=2026-12-28&days=5",
                      headers=anyone).get_json()["deadline"] == "2027-01-05"


def test_bad_tables_are_refused_with_line_numbers_and_nothing_changes(client, dbsession):
    admin = headers_for(client, "admin")
    bad = upload(client, admin, "date,kind,name\n2027-01-01,holiday,元旦\n2027-13-01,holiday,x\n2027-01-04,party,y\n")
    assert bad.status_code == 422
    lines = [e["line"] for e in bad.get_json()["error"]["details"]["errors"]]
    assert lines == [3, 4]
    official = upload(client, admin, "date,kind,name\n2026-10-01,holiday,国庆\n")
    assert official.status_code == 422 and official.get_json()["error"]["code"] == "year_official"
    anyone = headers_for(client, "leader")
    years = client.get("/api/v1/calendar/years?first=2027&last=2027", headers=anyone).get_json()
    assert years[0]["status"] == "assumed"


def test_cli_import_and_status(app, dbsession, tmp_path):
    path = tmp_path / "2028.csv"
    path.write_text("日期,类型,名称\n2028-01-01,休,元旦\n2028-01-29,班,春节调休\n", encoding="utf-8")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "import", str(path)])
    assert result.exit_code == 0, result.output
    assert "2028: 1 holidays, 1 working weekends" in result.output
    status = runner.invoke(args=["calendar", "status", "--first", "2026", "--last", "2028"])
    assert "2026: official" in status.output and "2027: assumed" in status.output and "2028: loaded" in status.output
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind\nnot-a-date,holiday\n", encoding="utf-8")
    refused = runner.invoke(args=["calendar", "import", str(bad)])
    assert refused.exit_code == 1 and "Traceback" not in refused.output


def test_a_file_that_is_not_utf8_is_a_422_not_a_500(client, dbsession):
    admin = headers_for(client, "admin")
    resp = client.post("/api/v1/calendar/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO("日期,类型\n2027-01-01,休\n".encode("gb18030")), "x.csv", "text/csv")})
    assert resp.status_code == 422 and resp.get_json()["error"]["code"] == "not_utf8"
