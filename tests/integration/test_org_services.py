"""Org services on a real database: tree paths and moves, the rules on (de)activation, limits, the
liaison's scope, search, and the delta feed's cursor, all without HTTP."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from inspect_api.audit import services as audit
from inspect_api.errors import Conflict, NotFound, Unprocessable
from inspect_api.org import services as org
from inspect_api.org.models import ServiceItem, Staff, Unit
from tests.helpers import make_service_item, make_staff, make_unit, make_user


def db_paths(session) -> dict[str, str]:
    rows = session.execute(sa.select(Unit.code, Unit.path)).all()
    return dict(rows)


def found(stmt) -> list[str]:
    return sorted(getattr(row, "code", None) or row.badge_no for row in org.db.session.scalars(stmt))


# --- paths and moves --------------------------------------------------------------------------

def test_paths_are_the_chain_of_ids_from_the_top(dbsession):
    root = make_unit("R")
    child = make_unit("C", parent=root)
    grandchild = make_unit("G", parent=child)
    assert root.path == f"/{root.id}/"
    assert child.path == f"/{root.id}/{child.id}/"
    assert grandchild.path == f"/{root.id}/{child.id}/{grandchild.id}/"


def test_a_move_rewrites_the_subtree_in_the_database_and_in_the_session(dbsession):
    a, b = make_unit("A"), make_unit("B")
    a1 = make_unit("A1", parent=a)
    a11 = make_unit("A11", parent=a1)
    sibling = make_unit("A2", parent=a)
    org.update_unit(a1, {"parent_id": b.id})
    expected = {"A": f"/{a.id}/", "B": f"/{b.id}/", "A1": f"/{b.id}/{a1.id}/",
                "A11": f"/{b.id}/{a1.id}/{a11.id}/", "A2": f"/{a.id}/{sibling.id}/"}
    assert db_paths(dbsession) == expected
    # the objects this session already holds are not stale
    assert (a1.path, a11.path, sibling.path) == (expected["A1"], expected["A11"], expected["A2"])
    assert a1.parent_id == b.id and a1.version == 2


def test_two_moves_in_one_transaction_start_from_the_real_paths(dbsession):
    """What an import does: move a unit, then move one of its (already loaded) descendants."""
    a, b, c = make_unit("A"), make_unit("B"), make_unit("C")
    a1 = make_unit("A1", parent=a)
    a11 = make_unit("A11", parent=a1)
    leaf = make_unit("LEAF", parent=a11)
    org.update_unit(a1, {"parent_id": b.id})
    org.update_unit(a11, {"parent_id": c.id})
    assert db_paths(dbsession)["A11"] == f"/{c.id}/{a11.id}/"
    assert db_paths(dbsession)["LEAF"] == f"/{c.id}/{a11.id}/{leaf.id}/"
    assert db_paths(dbsession)["A1"] == f"/{b.id}/{a1.id}/"
    assert found(org.search_units({"under": b.id}, make_user("admin"))) == ["A1", "B"]


def test_a_move_to_the_top_and_back(dbsession):
    a = make_unit("A")
    a1 = make_unit("A1", parent=a)
    org.update_unit(a1, {"parent_id": None})
    assert a1.path == f"/{a1.id}/" and a1.parent_id is None
    org.update_unit(a1, {"parent_id": a.id})
    assert a1.path == f"/{a.id}/{a1.id}/"


@pytest.mark.parametrize("target", ["self", "child", "grandchild"])
def test_a_move_under_itself_or_a_descendant_is_refused(dbsession, target):
    a = make_unit("A")
    child = make_unit("A1", parent=a)
    grandchild = make_unit("A11", parent=child)
    parent = {"self": a, "child": child, "grandchild": grandchild}[target]
    with pytest.raises(Unprocessable) as exc:
        org.update_unit(a, {"parent_id": parent.id})
    assert "parent_id" in exc.value.details["fields"]


def test_a_unit_whose_id_prefixes_another_is_no_ancestor_of_it(dbsession):
    """Paths end in "/", so /1/ is no prefix of /12/: moving 1 under 12 is allowed."""
    units = [make_unit() for _ in range(12)]
    by_id = {u.id: u for u in units}
    pair = next(((u, by_id[v]) for u in units for v in by_id if v != u.id and str(v).startswith(str(u.id))), None)
    if pair is None:
        pytest.skip("no two ids where one prefixes the other")
    short, long_ = pair
    org.update_unit(short, {"parent_id": long_.id})
    assert short.path == f"/{long_.id}/{short.id}/"


# --- changes, versions and the trail -------------------------------------------------------------

def test_a_change_bumps_the_version_and_remembers_the_events_seq(dbsession):
    unit = make_unit("V")
    assert (unit.version, unit.change_seq) == (1, audit.current_seq())
    org.update_unit(unit, {"name": "新"})
    assert (unit.version, unit.change_seq) == (2, audit.current_seq())


def test_a_change_to_the_same_values_writes_nothing(dbsession):
    unit = make_unit("SAME", name="同名")
    seq, version = audit.current_seq(), unit.version
    org.update_unit(unit, {"name": "同名", "code": "SAME", "parent_id": None, "tags": []})
    assert (audit.current_seq(), unit.version, unit.change_seq) == (seq, version, seq)


def test_deactivating_through_a_plain_update_keeps_the_children_rule(dbsession):
    parent = make_unit("P")
    make_unit("K", parent=parent)
    with pytest.raises(Conflict) as exc:
        org.update_unit(parent, {"is_active": False})
    assert exc.value.code == "unit_has_children"
    with pytest.raises(Conflict):
        org.set_active(parent, False)


def test_set_active_to_the_current_state_is_a_no_op(dbsession):
    unit = make_unit()
    seq = audit.current_seq()
    assert org.set_active(unit, True) is unit
    assert (audit.current_seq(), unit.version) == (seq, 1)


def test_inactive_children_do_not_block_deactivation_and_block_nothing_upward(dbsession):
    parent = make_unit("P")
    child = make_unit("K", parent=parent)
    org.set_active(child, False)
    org.set_active(parent, False)
    assert (parent.is_active, child.is_active) == (False, False)
    with pytest.raises(Conflict) as exc:
        org.set_active(child, True)
    assert exc.value.code == "parent_inactive"
    with pytest.raises(Unprocessable):
        make_unit("NEW", parent=parent)
    # an inactive unit may be filed under an inactive parent
    loose = make_unit("LOOSE")
    org.set_active(loose, False)
    org.update_unit(loose, {"parent_id": parent.id})
    assert loose.path == f"/{parent.id}/{loose.id}/"


def test_service_limits_are_checked_by_the_service_too(dbsession):
    """Not only the schema: an import calls the service directly."""
    unit = make_unit()
    with pytest.raises(Unprocessable) as exc:
        make_service_item(unit, statutory_limit_days=3, committed_limit_days=4)
    assert "committed_limit_days" in exc.value.details["fields"]
    item = make_service_item(unit, statutory_limit_days=10, committed_limit_days=10)
    with pytest.raises(Unprocessable):
        org.update_service_item(item, {"statutory_limit_days": 9})
    org.update_service_item(item, {"statutory_limit_days": 9, "committed_limit_days": 0})
    assert (item.statutory_limit_days, item.committed_limit_days, item.version) == (9, 0, 2)


def test_staff_rules(dbsession):
    unit = make_unit()
    first = make_staff(unit, badge_no="S1")
    with pytest.raises(Conflict):
        make_staff(unit, badge_no="S1")
    with pytest.raises(Unprocessable):
        org.update_staff(first, {"backup_id": first.id})
    with pytest.raises(Unprocessable):
        org.update_staff(first, {"unit_id": 999_999})
    second = make_staff(unit, badge_no="S2", backup_id=first.id)
    assert second.backup.id == first.id


def test_unit_by_code(dbsession):
    unit = make_unit("BYCODE")
    assert org.unit_by_code("BYCODE") is unit
    with pytest.raises(NotFound):
        org.unit_by_code("NOPE")


# --- scope ------------------------------------------------------------------------------------

@pytest.fixture()
def tree(dbsession):
    county = make_unit("COUNTY", kind="county")
    a = make_unit("A", parent=county)
    a1 = make_unit("A1", parent=a)
    b = make_unit("B", parent=county)
    return {"county": county, "a": a, "a1": a1, "b": b,
            "staff_a1": make_staff(a1, badge_no="IN"), "staff_b": make_staff(b, badge_no="OUT"),
            "item_a1": make_service_item(a1, code="I-IN"), "item_b": make_service_item(b, code="I-OUT")}


def test_a_liaisons_scope_is_its_units_subtree(tree):
    liaison = make_user("unit_liaison", tree["a"])
    assert found(org.search_units({}, liaison)) == ["A", "A1"]
    assert found(org.search_staff({}, liaison)) == ["IN"]
    assert found(org.search_service_items({}, liaison)) == ["I-IN"]
    assert org.get_staff(tree["staff_a1"].id, liaison) is tree["staff_a1"]
    for getter, obj in ((org.get_unit, tree["b"]), (org.get_unit, tree["county"]),
                        (org.get_staff, tree["staff_b"]), (org.get_service_item, tree["item_b"])):
        with pytest.raises(NotFound):
            getter(obj.id, liaison)


def test_other_roles_have_no_scope(tree):
    for role in ("admin", "office", "inspector", "leader"):
        assert org.scope_unit_ids(make_user(role)) is None
        assert found(org.search_units({}, make_user(role))) == ["A", "A1", "B", "COUNTY"]


def test_a_liaisons_scope_follows_a_move(tree):
    liaison = make_user("unit_liaison", tree["a"])
    org.update_unit(tree["b"], {"parent_id": tree["a1"].id})
    assert found(org.search_units({}, liaison)) == ["A", "A1", "B"]
    assert org.get_service_item(tree["item_b"].id, liaison) is tree["item_b"]


def test_a_liaison_whose_unit_is_gone_sees_nothing(tree):
    liaison = SimpleNamespace(role="unit_liaison", unit_id=999_999)
    assert found(org.search_units({}, liaison)) == []
    assert org.delta(liaison, 0, 100)["units"] == []
    with pytest.raises(NotFound):
        org.get_unit(tree["a"].id, liaison)


def test_search_by_tag_matches_whole_tags_in_any_script(dbsession):
    make_unit("T1")
    t2, t3 = make_unit("T2"), make_unit("T3")
    org.update_unit(t2, {"tags": ["便民服务", "a\"b", "50%"]})
    org.update_unit(t3, {"tags": ["便民"]})
    admin = make_user("admin")
    assert found(org.search_units({"tag": "便民"}, admin)) == ["T3"]
    assert found(org.search_units({"tag": "便民服务"}, admin)) == ["T2"]
    assert found(org.search_units({"tag": 'a"b'}, admin)) == ["T2"]
    assert found(org.search_units({"tag": "50%"}, admin)) == ["T2"]
    assert found(org.search_units({"tag": "5"}, admin)) == []


# --- the delta feed --------------------------------------------------------------------------------

def test_delta_is_ordered_by_change_and_the_cursor_is_the_last_seq(tree):
    admin = make_user("admin")
    out = org.delta(admin, 0, 100)
    assert len(out["units"]) == 4 and len(out["staff"]) == 2 and len(out["service_items"]) == 2
    assert [u.change_seq for u in out["units"]] == sorted(u.change_seq for u in out["units"])
    assert out["cursor"] == tree["item_b"].change_seq == org.delta_head(admin)
    assert out["has_more"] is False


def test_delta_pages_of_one_return_each_row_exactly_once(tree):
    admin = make_user("admin")
    seen, since = [], 0
    for _ in range(20):
        out = org.delta(admin, since, 1)
        rows = out["units"] + out["staff"] + out["service_items"]
        seen += [(type(r).__name__, r.id) for r in rows]
        assert len(rows) == 1
        since = out["cursor"]
        if not out["has_more"]:
            break
    assert len(seen) == 8 and len(set(seen)) == 8


def test_a_move_gives_the_whole_subtree_the_moves_seq(tree):
    org.update_unit(tree["a"], {"parent_id": tree["b"].id})
    seq = tree["a"].change_seq
    assert seq == audit.current_seq()
    session = org.db.session
    assert session.scalar(sa.select(Unit.change_seq).where(Unit.id == tree["a1"].id)) == seq
    assert session.scalar(sa.select(Staff.change_seq).where(Staff.id == tree["staff_a1"].id)) == seq
    assert session.scalar(sa.select(ServiceItem.change_seq).where(ServiceItem.id == tree["item_a1"].id)) == seq
    assert tree["a1"].change_seq == seq  # the session's copy too
    # rows outside the moved subtree keep theirs
    assert tree["staff_b"].change_seq < seq
    out = org.delta(make_user("admin"), seq - 1, 1)
    assert {u.code for u in out["units"]} == {"A", "A1"}
    assert [s.badge_no for s in out["staff"]] == ["IN"] and [i.code for i in out["service_items"]] == ["I-IN"]
    assert out["cursor"] == seq and out["has_more"] is False
