"""Years the official calendar library does not know (2027 on) keep working when the clock is in them:
deadlines are provisional (Monday–Friday assumed) rather than an error, and defaults follow the local
year of the injectable clock."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.api.conftest import decide
from tests.helpers import headers_for


def test_a_confirmation_in_2027_without_a_holiday_table_gets_a_provisional_deadline(client, field, submitted,
                                                                                   clock):
    clock.at = datetime(2027, 3, 15, 2, 0, tzinfo=UTC)  # Monday 15 March 2027, 10:00 Beijing
    office = headers_for(client, "office")
    assert decide(client, office, submitted["badge"], "confirm").status_code == 200  # minor: 10 working days
    liaison = headers_for(client, "unit_liaison", field.unit)
    rect = client.get(f"/api/v1/unit/findings/{submitted['badge']}", headers=liaison).get_json()["rectification"]
    assert (rect["due_on"], rect["provisional"]) == ("2027-03-29", True)


def test_calendar_years_default_around_the_clocks_local_year(client, clock):
    clock.at = datetime(2027, 12, 31, 16, 30, tzinfo=UTC)  # 00:30 on 1 January 2028 in Beijing
    anyone = headers_for(client, "inspector")
    years = [y["year"] for y in client.get("/api/v1/calendar/years", headers=anyone).get_json()]
    assert years == [2027, 2028, 2029, 2030]
    deadline = client.get("/api/v1/calendar/deadline?start=2028-02-28&days=2", headers=anyone).get_json()
    assert (deadline["deadline"], deadline["provisional"]) == ("2028-03-01", True)  # 29 Feb is a Tuesday


def test_statistics_default_to_the_local_month_in_a_year_the_library_lacks(client, clock):
    clock.at = datetime(2028, 2, 29, 4, 0, tzinfo=UTC)  # 29 February 2028, 12:00 Beijing
    office = headers_for(client, "office")
    s = client.get("/api/v1/stats/summary", headers=office).get_json()
    assert s["period"] == {"from": "2028-02-01", "to": "2028-02-29", "days": 29}
