"""Timing of the sampling draw for ./scripts/bench, against a baseline measured in the same run.

The pool is synthetic and built from the seed: units in departments (strata), with complaint and
grade factors and two opening periods; inspectors with a home unit, two relatives' units and ten
recent visits each. The plan draws every unit of the pool (the heaviest case: every unit gets a
team and a time) over a quarter of weekdays, with strata minimums, risk weights, a load cap and
travel time between visits. The baseline is `random.Random(seed).sample` of as many unit ids:
the bare lottery without any constraint, so the ratio shows what the constraints cost.
"""

from __future__ import annotations

import random
import time
from datetime import date, timedelta

from inspect_api.sampling.rules import (
    InspectorInfo,
    Plan,
    UnitInfo,
    WeightPolicy,
    draw,
)

PERIOD_START, PERIOD_END = date(2026, 1, 1), date(2026, 3, 31)
OPENING_HOURS = ((9 * 60, 12 * 60), (13 * 60 + 30, 17 * 60 + 30))


def synthetic_pool(n_units: int, n_inspectors: int, seed: int):
    rng = random.Random(seed)
    units = [UnitInfo(id=u, stratum=f"部门{u % max(1, n_units // 25)}", opening_hours=OPENING_HOURS,
                      weight_factors={"complaints": rng.randint(0, 3), "poor_grade": int(rng.random() < 0.1),
                                      "recent_confirmed_findings": rng.randint(0, 2)})
             for u in range(1, n_units + 1)]
    unit_ids = range(1, n_units + 1)
    inspectors = [InspectorInfo(id=1_000_000 + j, home_unit_id=rng.choice(unit_ids),
                                relative_unit_ids=frozenset(rng.sample(unit_ids, min(2, n_units))),
                                recent_unit_ids=frozenset(rng.sample(unit_ids, min(10, n_units))))
                  for j in range(n_inspectors)]
    days = tuple(d for d in (PERIOD_START + timedelta(days=k) for k in range((PERIOD_END - PERIOD_START).days + 1))
                 if d.weekday() < 5)
    slots = 2 * n_units
    plan = Plan(period_start=PERIOD_START, period_end=PERIOD_END, sample_size=n_units, min_per_stratum=1,
                team_size=2, max_visits_per_inspector=-(-slots // max(1, n_inspectors)) + 2,
                visit_minutes=90, travel_minutes=30,
                weights=WeightPolicy({"recent_confirmed_findings": 2.0, "complaints": 1.5, "poor_grade": 2.0}))
    return plan, units, inspectors, days


def _best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def bench_draw(n_units: int, n_inspectors: int, seed: int, *, repeats: int = 3) -> dict:
    """Best-of-`repeats` wall time of one full draw, and of the baseline, in the same process."""
    plan, units, inspectors, days = synthetic_pool(n_units, n_inspectors, seed)
    seed_text = f"{seed:064x}"
    result = draw(plan, units, inspectors, days, seed_text)  # warm-up, and the figures reported
    draw_s = _best(lambda: draw(plan, units, inspectors, days, seed_text), repeats)
    ids = [u.id for u in units]
    baseline_s = _best(lambda: random.Random(seed).sample(ids, n_units), max(repeats, 5))
    loads: dict = {}
    for a in result.assignments:
        for i in a.inspector_ids:
            loads[i] = loads.get(i, 0) + 1
    return {
        "units": n_units,
        "inspectors": n_inspectors,
        "sample_size": plan.sample_size,
        "assigned": len(result.assignments),
        "problems": len(result.problems),
        "load_min": min(loads.values(), default=0),
        "load_max": max(loads.values(), default=0),
        "draw_ms": draw_s * 1000,
        "baseline_ms": baseline_s * 1000,
        "ratio": draw_s / baseline_s if baseline_s else None,
        "repeats": repeats,
    }


if __name__ == "__main__":  # python -m inspect_api.sampling.bench
    import json

    print(json.dumps([bench_draw(n, 500, 1) for n in (1_000, 10_000)], indent=2))
