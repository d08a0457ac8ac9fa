"""Accountability (问责): the escalation policy (`checklists/policy/escalation.yaml`, versioned and editable
by admin) and the pure rules that turn confirmed findings, recorded outcomes, overdue rectifications and
bottom ranks into proposals (efficiency warning, referral, 约谈 …) that the office then decides on.

- `rules`: the policy as frozen values, the input facts, and `evaluate` (pure: no Flask, no DB, no clock).
- `policy`: YAML text <-> policy values, with every problem named; the shipped file; a new version's checks.
"""
