"""A feature below asks the features above through domain events (core/events.py), never by importing
them: the escalation rules' facts kept by documents (末位 of issued monthly bulletins) and matters, a
document drafted on request, a document's number; each answered by the one receiver connected."""

from __future__ import annotations

import pytest

from inspect_api.accountability import services as accountability
from inspect_api.accountability.rules import BottomRankFact
from inspect_api.core import events
from inspect_api.documents.models import Document
from tests.helpers import make_unit


def _issued_bulletin(session, unit, *, start="2026-01-01", end="2026-01-31", under=None) -> Document:
    selection = {"period_start": start, "period_end": end, **({"under": under} if under else {})}
    doc = Document(kind="bulletin", status="issued", title="通报", selection=selection, wording={},
                   issued_context={"ranking": [{"unit_name": unit.name, "unit_id": unit.id}], "bottom": [unit.name]})
    session.add(doc)
    session.flush()
    return doc


def test_the_bottom_of_issued_monthly_bulletins_are_facts_of_the_escalation_rules(dbsession):
    bottom, other = make_unit("B"), make_unit("O")
    _issued_bulletin(dbsession, bottom)
    _issued_bulletin(dbsession, bottom, start="2026-01-01", end="2026-03-31")  # a quarter: not monthly
    _issued_bulletin(dbsession, bottom, start="2026-02-01", end="2026-02-28", under=other.id)  # a part only
    facts = accountability._facts()
    assert BottomRankFact(unit_id=bottom.id, year=2026, month=1) in facts["bottom_ranks"]
    assert [f for f in facts["bottom_ranks"] if f.unit_id == bottom.id] == [BottomRankFact(bottom.id, 2026, 1)]
    only_other = accountability._facts(accountability.Subjects(units=frozenset({other.id})))
    assert only_other["bottom_ranks"] == [] and only_other["matters"] == []


def test_documents_answers_what_it_is_asked_and_refuses_other_kinds(dbsession):
    unit = make_unit("C")
    doc = _issued_bulletin(dbsession, unit)
    doc.number = "测〔2026〕1号"
    assert events.answer(events.document_summary_asked.send(None, document_id=doc.id)) == {
        "id": doc.id, "number": "测〔2026〕1号", "status": "issued"}
    with pytest.raises(ValueError, match="bulletin"):
        events.answer(events.document_requested.send(None, kind="bulletin", selection={}, wording=None, actor=None))
    assert events.results(events.document_summary_asked.send(None, document_id=987654)) == []  # no such document


def test_a_question_nobody_answers_is_an_error_not_a_silent_none():
    lonely = events._signals.signal("nobody-listens")
    with pytest.raises(RuntimeError, match="expected one answer, got 0"):
        events.answer(lonely.send(None))
