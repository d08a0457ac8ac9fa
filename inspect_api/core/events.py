"""Domain events: what a feature announces so that features above it can act, without the lower one
importing them (the features depend one way; see docs/architecture.md).

Blinker signals, as indico uses them. A signal is sent inside the request's or job's transaction and
its receivers run synchronously in it, so an exception in a receiver rolls everything back as a direct
call would. Receivers are connected by the app factory (`app.register_event_receivers`, so the web workers and
the scheduler process alike); a signal whose receivers return something gives the sender their
results (`results(...)`), e.g. the proposals an approval led to.

Blinker keeps a signal's receivers in a set: where the order of two receivers would matter, use one
receiver that calls both in order.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

finding_confirmed = _signals.signal("finding-confirmed", doc="""
Findings were confirmed (review, one or a batch; a substantiated complaint's finding too).
sender: None; kwargs: actor, units (set of unit ids), staff (set of staff ids), committed (True when
the confirmation is already committed: a receiver may read before it takes SQLite's write lock).""")

rectifications_overdue = _signals.signal("rectifications-overdue", doc="""
Rectifications passed their due day and were flagged overdue (the daily job).
sender: None; kwargs: units (set of unit ids).""")

grades_approved = _signals.signal("grades-approved", doc="""
An annual assessment run was approved (four eyes); its grades are in force.
sender: the GradeRun; kwargs: actor, lifted ([(unit_id, new_grade)] whose 不合格 was replaced),
reinstated ([unit_id] graded 不合格 again). Receivers return a list of proposals.""")

calendar_imported = _signals.signal("calendar-imported", doc="""
Holiday tables of later years were imported (system.services.import_calendar).
sender: None; kwargs: years (sorted list), actor. Receivers return how many deadlines they changed.""")


visit_assignment_asked = _signals.signal("visit-assignment-asked", doc="""
A visit being written names the sampling assignment it fulfils (read phase, before any write).
sender: None; kwargs: visit_id, assignment_id, actor, unit_id, now. The receiver (sampling) refuses
with a DomainError, or returns whether the assignment's plan allows a single inspector. No answer
means no such assignment.""")

visit_assignment_changed = _signals.signal("visit-assignment-changed", doc="""
A visit was written under its lock with another assignment than before (or its first one).
sender: None; kwargs: visit_id, previous_id, assignment_id. The receiver (sampling) releases the
previous assignment and claims the new one, refusing (DomainError) when another visit holds it.""")

escalation_facts_asked = _signals.signal("escalation-facts-asked", doc="""
The escalation rules read their facts (accountability); facts kept by the features above it are asked
for. sender: None; kwargs: units (a set of unit ids whose facts are read, None for every unit).
Receivers return {fact kind: [facts of accountability.rules]}: matters the overdue and unfinished
matters (`matters`), documents the 末位 units of issued monthly bulletins (`bottom_ranks`).""")

document_requested = _signals.signal("document-requested", doc="""
A feature below documents asks for an official document of a kind documents renders from that
feature's data (accountability: a case's `referral`; assessment: a run's `commendation`).
sender: None; kwargs: kind, selection, wording, actor (who drafts it; None: the system), and for a
document decided by the feature's own four eyes `approval` ({author, approver, approved_at}) with
`issue_by` (the user issuing it now). The receiver (documents) returns (document, render job or None).""")

document_summary_asked = _signals.signal("document-summary-asked", doc="""
A feature shows the document it asked for (a case's referral). sender: None; kwargs: document_id.
The receiver (documents) returns {id, number, status}, or None when there is no such document.""")


def results(sent: list[tuple[object, object]]) -> list:
    """The return values of a `send`, receivers that returned None left out."""
    return [value for _receiver, value in sent if value is not None]


def answer(sent: list[tuple[object, object]]):
    """The one answer to a question only one feature answers (`document_requested`); RuntimeError when
    nobody answered (the receivers are not connected)."""
    values = results(sent)
    if len(values) != 1:
        raise RuntimeError(f"expected one answer, got {len(values)}")
    return values[0]
