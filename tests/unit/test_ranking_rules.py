"""Rankings as pure rules: periods by key, the score and its explanation, weights, the minimum of ratings,
no-data subjects, the order and ties, the bottom rule by count and by share, and special supervision;
and the policy file, with every problem named."""

from __future__ import annotations

import re
from datetime import date
from fractions import Fraction

import pytest

from inspect_api.errors import Unprocessable
from inspect_api.rankings import rules
from inspect_api.rankings.policy import parse
from inspect_api.rankings.rules import (
    BottomRule,
    Entry,
    Figures,
    RankingPolicy,
    SpecialSupervisionRule,
    SubjectPolicy,
)
from inspect_api.review.policy import PolicyError
from inspect_api.stats.rules import Period

BY_SEV = {"minor": 2, "serious": 5, "severe": 10}
POLICY = SubjectPolicy(weights={"inspection": 0.7, "ratings": 0.3}, min_ratings=10,
                       tie_break=("deduction", "severe", "findings"), bottom=BottomRule(count=2, min_ranked=3))


def fig(visits=1, minor=0, serious=0, severe=0, points=0, unpointed=None, scores=(), complaints=0) -> Figures:
    by_sev = {k: v for k, v in (("minor", minor), ("serious", serious), ("severe", severe)) if v}
    return Figures(visits=visits, findings_by_severity=by_sev, points=points,
                   unpointed_by_severity=unpointed if unpointed is not None else by_sev, complaints=complaints,
                   **rules.tally(scores))


def ranked(entries, policy=POLICY):
    return rules.rank([Entry(k, f"U{k:03d}", f) for k, f in entries], policy, BY_SEV)


# --- periods ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("key", "start", "end", "label"), [
    ("2026-11", date(2026, 11, 1), date(2026, 11, 30), "2026年11月"),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29), "2028年2月"),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31), "2026年第四季度"),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "2026年第一季度"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026年"),
])
def test_a_period_key_names_a_month_quarter_or_year_and_comes_back_from_it(key, start, end, label):
    period = rules.period_of_key(key)
    assert (period.start, period.end) == (start, end)
    assert rules.period_key(period) == key and rules.period_label(period) == label


@pytest.mark.parametrize("key", ["2026-13", "2026-Q5", "26-11", "2026-1", "1999", "2026-11-01", "", "2026/11"])
def test_bad_period_keys_are_422_naming_period(key):
    with pytest.raises(Unprocessable) as exc:
        rules.period_of_key(key)
    assert set(exc.value.details["fields"]) == {"period"}


def test_a_key_and_dates_together_are_refused_and_dates_alone_follow_the_statistics():
    with pytest.raises(Unprocessable):
        rules.resolve_period("2026-11", date(2026, 11, 1), None, date(2026, 11, 23))
    assert rules.resolve_period(None, None, None, date(2026, 11, 23)) == Period(date(2026, 11, 1), date(2026, 11, 23))
    odd = rules.resolve_period(None, date(2026, 11, 5), date(2026, 12, 3), date(2026, 11, 23))
    assert rules.period_key(odd) is None and rules.period_label(odd) == "2026年11月5日至2026年12月3日"


# --- the score ----------------------------------------------------------------------------------------

def test_checklist_points_count_and_findings_without_points_cost_their_severity():
    f = fig(minor=2, serious=1, points=6, unpointed={"minor": 1})  # 6 points + one minor without points (2)
    result = rules.score(f, POLICY, BY_SEV)
    assert result.deduction == 8 and result.value == 92.0  # ratings do not count: inspection alone
    [insp, rate] = result.components
    assert (insp.counted, insp.score, insp.share) == (True, 92.0, 1.0)
    assert (rate.counted, rate.share) == (False, 0.0)
    assert "检查表分值6" in insp.note and "无分值问题按严重程度2" in insp.note
    assert "综合得分 = 明查暗访得分 92.0" in result.text and "本期无群众评价" in result.text


def test_weights_mix_the_counted_components_and_every_input_is_explained():
    f = fig(minor=1, scores=[5] * 8 + [4, 2])  # deduction 2 → 98; mean 4.6 → 92
    result = rules.score(f, POLICY, BY_SEV)
    assert result.value == 96.2  # (98 × 0.7 + 92 × 0.3) ÷ 1.0
    assert [c.share for c in result.components] == [pytest.approx(0.7), pytest.approx(0.3)]
    assert "(98.0 × 0.7 + 92.0 × 0.3) ÷ 1 = 96.2" in result.text
    assert "评价10条共46分，46 ÷ 10 × 20 = 92.0" in result.text and "差评率10.0%" in result.text
    heavy = rules.score(f, SubjectPolicy(weights={"inspection": 1, "ratings": 3}, min_ratings=10), BY_SEV)
    assert heavy.value == 93.5  # (98 + 3 × 92) / 4


def test_ratings_below_the_minimum_do_not_count():
    f = fig(minor=1, scores=[1] * 9)
    result = rules.score(f, POLICY, BY_SEV)
    assert result.value == 98.0 and "评价9条，不足10条，不计入" in result.text
    assert rules.score(fig(minor=1, scores=[1] * 10), POLICY, BY_SEV).value == pytest.approx(98 * 0.7 + 20 * 0.3)


def test_a_unit_rated_enough_but_never_inspected_is_ranked_on_ratings_alone():
    result = rules.score(fig(visits=0, scores=[4] * 10), POLICY, BY_SEV)
    assert result.value == 80.0 and "本期未受检查" in result.text


def test_no_visit_and_no_ratings_is_no_data_never_a_perfect_score():
    for f in (fig(visits=0), fig(visits=0, scores=[5] * 3)):
        result = rules.score(f, POLICY, BY_SEV)
        assert result.value is None and not result.ranked and result.text.startswith("无数据")


def test_a_component_with_zero_weight_is_shown_but_does_not_count():
    only_findings = SubjectPolicy(weights={"inspection": 1, "ratings": 0}, min_ratings=1)
    result = rules.score(fig(minor=1, scores=[1, 1]), only_findings, BY_SEV)
    assert result.value == 98.0 and "权重为0，不计入" in result.components[1].note
    assert rules.score(fig(visits=0, scores=[1, 1]), only_findings, BY_SEV).value is None


def test_the_inspection_score_stops_at_zero_and_scores_round_half_up():
    assert rules.score(fig(severe=12), POLICY, BY_SEV).value == 0.0
    assert rules.round1(92.25) == 92.3 and rules.round1(92.35) == 92.4 and rules.round1(0.05) == 0.1


# --- order and ties ---------------------------------------------------------------------------------------

def test_rows_are_ranked_by_score_then_tie_breaks_and_no_data_comes_last_by_code():
    rows = ranked([
        (5, fig(visits=0)),            # no data
        (4, fig(minor=1)),             # 98
        (3, fig()),                    # 100
        (2, fig(serious=1)),           # 95
        (1, fig(visits=0, scores=[1])),  # one rating, below the minimum: no data
    ])
    assert [(r.key, r.rank) for r in rows] == [(3, 1), (4, 2), (2, 3), (1, None), (5, None)]


def test_equal_scores_are_told_apart_by_the_policy_tie_breaks_in_order():
    # both 90: one severe (10) vs five minor (10): the same deduction, fewer severe first
    rows = ranked([(1, fig(severe=1)), (2, fig(minor=5))])
    assert [(r.key, r.rank) for r in rows] == [(2, 1), (1, 2)]
    assert rows[0].tie_values == (10.0, 0, 5)
    # with findings first, the single severe finding wins
    by_count = SubjectPolicy(weights=POLICY.weights, min_ratings=10, tie_break=("findings",), bottom=POLICY.bottom)
    assert [r.key for r in ranked([(1, fig(severe=1)), (2, fig(minor=5))], by_count)] == [1, 2]


def test_fully_equal_rows_share_a_rank_are_listed_by_code_and_the_next_rank_skips():
    rows = ranked([(3, fig(minor=1)), (1, fig(minor=1)), (2, fig()), (4, fig(serious=1))])
    assert [(r.key, r.rank) for r in rows] == [(2, 1), (1, 2), (3, 2), (4, 4)]
    again = ranked([(1, fig(minor=1)), (3, fig(minor=1)), (4, fig(serious=1)), (2, fig())])
    assert [(r.key, r.rank) for r in again] == [(r.key, r.rank) for r in rows]  # input order does not matter


def test_higher_is_better_tie_breaks_put_the_higher_first():
    pol = SubjectPolicy(weights={"inspection": 1, "ratings": 0}, min_ratings=1, tie_break=("rating_mean",))
    # equal inspection scores; rating_mean only breaks ties when ratings count, so both are 0 here
    rows = rules.rank([Entry(1, "A", fig(scores=[3])), Entry(2, "B", fig(scores=[5]))], pol, BY_SEV)
    assert [r.rank for r in rows] == [1, 1]
    pol = SubjectPolicy(weights={"inspection": 1, "ratings": 1}, min_ratings=1, tie_break=("rating_mean",))
    # A: (98 + 80) / 2, B: (78 + 100) / 2: both 89, B rated higher
    rows = rules.rank([Entry(1, "A", fig(minor=1, scores=[4])), Entry(2, "B", fig(minor=11, scores=[5]))], pol, BY_SEV)
    assert [r.key for r in rows] == [2, 1] and rows[0].score.value == rows[1].score.value == 89.0


# --- the bottom -------------------------------------------------------------------------------------------------

def scores_rows(*deductions_in_minors):
    return ranked([(i + 1, fig(minor=n)) for i, n in enumerate(deductions_in_minors)])


def test_the_last_count_eligible_are_named_worst_first():
    rows = scores_rows(0, 1, 2, 3, 4)
    assert rules.bottom(rows, BottomRule(count=2, min_ranked=3)).named == (5, 4)


def test_nobody_is_named_when_too_few_are_ranked():
    rows = scores_rows(1, 2)
    result = rules.bottom(rows, BottomRule(count=1, min_ranked=3))
    assert result.named == () and "少于3个" in result.note


def test_only_units_with_a_problem_and_below_the_score_may_be_named():
    rows = scores_rows(0, 0, 0, 1)  # three clean units at 100, one at 98
    assert rules.bottom(rows, BottomRule(count=2, min_ranked=3)).named == (4,)
    assert rules.bottom(rows, BottomRule(count=2, min_ranked=3, below_score=95)).named == ()
    anyone = BottomRule(count=2, min_ranked=3, below_score=None, require_problem=False)
    assert rules.bottom(rows, anyone).named == (4, 3, 2, 1)  # the three clean ones tie: all or none


def test_a_tie_at_the_boundary_names_everyone_tied():
    rows = scores_rows(1, 2, 2, 3)
    assert rules.bottom(rows, BottomRule(count=2, min_ranked=3)).named == (4, 3, 2)


def test_a_share_is_rounded_down_with_a_minimum():
    rows = scores_rows(*range(1, 11))  # ten ranked, all with problems
    assert rules.bottom(rows, BottomRule(count=None, share=0.25, min_count=1, min_ranked=3)).named == (10, 9)
    assert rules.bottom(rows, BottomRule(count=None, share=0.05, min_count=1, min_ranked=3)).named == (10,)
    assert rules.bottom(rows, BottomRule(count=None, share=0.05, min_count=0, min_ranked=3)).named == ()


def test_a_ratings_problem_counts_only_when_the_ratings_counted():
    pol = SubjectPolicy(weights={"inspection": 0.5, "ratings": 0.5}, min_ratings=2, bottom=BottomRule(count=1, min_ranked=2))
    rows = rules.rank([Entry(1, "A", fig(scores=[5, 5])), Entry(2, "B", fig(scores=[5, 1])),
                       Entry(3, "C", fig(scores=[1]))], pol, BY_SEV)
    assert rules.bottom(rows, pol.bottom).named == (2,)  # C's lone 差评 does not count: C is clean
    assert [(r.key, r.score.value, r.problem) for r in rows] == [(1, 100.0, False), (3, 100.0, False), (2, 80.0, True)]


def test_the_best_never_include_those_named_at_the_bottom():
    rows = scores_rows(1, 2, 3)
    assert [r.key for r in rules.best(rows, 3, exclude={3})] == [1, 2]


# --- special supervision ---------------------------------------------------------------------------------

def test_a_high_dissatisfaction_rate_over_enough_ratings_or_many_complaints_flag_special_supervision():
    rule = SpecialSupervisionRule(min_ratings=10, dissatisfaction_rate_above=0.1, complaints_at_least=3)
    assert rules.special_supervision(fig(scores=[1] * 2 + [5] * 8), rule) == [
        {"code": "dissatisfaction", "label": "差评率20.0%（2/10），高于10.0%"}]
    both = rules.special_supervision(fig(scores=[2] * 5 + [5] * 5, complaints=4), rule)
    assert [r["code"] for r in both] == ["dissatisfaction", "complaints"]
    assert rules.special_supervision(fig(scores=[1] * 5), rule) == []  # too few ratings
    assert rules.special_supervision(fig(scores=[1] + [5] * 9), rule) == []  # 10%: not above
    assert [r["code"] for r in rules.special_supervision(fig(complaints=3), rule)] == ["complaints"]
    assert rules.special_supervision(fig(complaints=9), SpecialSupervisionRule(10, None, None)) == []


# --- the policy file ------------------------------------------------------------------------------------------

GOOD = """
deduction_by_severity: {minor: 2, serious: 5, severe: 10}
units:
  weights: {inspection: 0.7, ratings: 0.3}
  min_ratings: 20
  tie_break: [deduction, severe]
  bottom: {count: 2, min_ranked: 5, below_score: 100, require_problem: true}
staff:
  weights: {inspection: 1, ratings: 0}
  min_ratings: 10
  tie_break: []
  bottom: {share: 0.1, min_count: 1, min_ranked: 10, below_score: null, require_problem: false}
special_supervision: {min_ratings: 20, dissatisfaction_rate_above: 0.05, complaints_at_least: null}
"""


def test_the_shipped_policy_and_a_good_one_parse():
    from inspect_api.config import PROJECT_ROOT
    from inspect_api.rankings.policy import load

    shipped = load(str(PROJECT_ROOT / "checklists"))
    assert isinstance(shipped, RankingPolicy) and shipped.units.bottom.count == 2
    pol = parse(GOOD, "rankings.yaml")
    assert pol.staff.bottom == BottomRule(count=None, share=0.1, min_count=1, min_ranked=10, below_score=None,
                                          require_problem=False)
    assert pol.units.tie_break == ("deduction", "severe") and pol.special_supervision.complaints_at_least is None
    assert "扣分少者在前、严重问题少者在前" in rules.method_text(pol)


def test_a_bad_policy_names_every_problem_at_once():
    bad = (GOOD.replace("minor: 2", "minor: -1").replace("ratings: 0.3", "ratings: x")
           .replace("[deduction, severe]", "[deduction, luck]")
           .replace("{count: 2, min_ranked: 5", "{count: 2, share: 0.1, min_ranked: 5")
           .replace("min_ratings: 10", "min_ratings: 0").replace("complaints_at_least: null", "complaints_at_least: 0")
           + "extra: 1\n")
    with pytest.raises(PolicyError) as exc:
        parse(bad, "rankings.yaml")
    message = str(exc.value)
    for expected in ("未知字段 ['extra']", "deduction_by_severity", "units.weights", "units.tie_break",
                     "units.bottom: count（末几名）与 share", "staff.min_ratings", "complaints_at_least"):
        assert expected in message, expected


@pytest.mark.parametrize("text", ["", "[1, 2]", "units: {", "deduction_by_severity: {minor: 1}"])
def test_empty_or_malformed_policies_are_refused(text):
    with pytest.raises(PolicyError):
        parse(text, "rankings.yaml")


def test_the_documents_policy_sends_the_old_bulletin_scoring_keys_to_the_rankings_policy():
    from inspect_api.config import PROJECT_ROOT
    from inspect_api.documents.policy import parse as parse_documents

    text = (PROJECT_ROOT / "checklists" / "policy" / "documents.yaml").read_text(encoding="utf-8")
    assert parse_documents(text, "documents.yaml")["bulletin"]["ranking"] is True
    old = text.replace("  ranking: true", "  score_base: 100\n  bottom_count: 2\n  ranking: true")
    with pytest.raises(PolicyError) as exc:
        parse_documents(old, "documents.yaml")
    assert "bulletin.score_base 已移至 rankings.yaml" in str(exc.value)
    assert "bulletin.bottom_count 已移至 rankings.yaml units.bottom" in str(exc.value)
    with pytest.raises(PolicyError, match="bulletin.bottom_staff 须为 true 或 false"):
        parse_documents(text.replace("bottom_staff: true", "bottom_staff: 1"), "documents.yaml")


# --- explanations add up as printed -------------------------------------------------------------------------

def _holds(left: Fraction, sign: str, right: str) -> bool:
    shown = Fraction(right)
    return left == shown if sign == "=" else (left != shown and abs(left - shown) <= Fraction(1, 20))


def _check_arithmetic(text: str) -> int:
    """Every equation in an explanation, recomputed from the figures printed in it; returns how many."""
    checked = 0
    for total, n, sign, right in re.findall(r"(\d+) ÷ (\d+) × 20 ([=≈]) ([\d.]+)", text):
        assert _holds(Fraction(int(total) * 20, int(n)), sign, right), text
        checked += 1
    for deduction, sign, right in re.findall(r"100 − 扣分([\d.]+)（[^）]*）([=≈]) ([\d.]+)", text):
        assert _holds(100 - Fraction(deduction), sign, right), text
        checked += 1
    for terms, total, sign, right in re.findall(r"\(([^)]*)\) ÷ ([\d.]+) ([=≈]) ([\d.]+)", text):
        products = [Fraction(a) * Fraction(b) for a, b in re.findall(r"([\d.]+) × ([\d.]+)", terms)]
        assert _holds(sum(products, Fraction(0)) / Fraction(total), sign, right), text
        checked += 1
    return checked


def test_the_ratings_figure_is_the_sum_over_the_count_never_a_rounded_mean():
    result = rules.score(fig(minor=1, scores=[5] * 6 + [4] * 3 + [3]), POLICY, BY_SEV)  # 45 ÷ 10
    assert "评价10条共45分，45 ÷ 10 × 20 = 90.0" in result.text
    eight = rules.score(fig(visits=0, scores=[5, 5, 5, 5, 5, 4, 4, 4]), SubjectPolicy(
        weights={"inspection": 0.7, "ratings": 0.3}, min_ratings=1), BY_SEV)  # mean 4.625
    assert "37 ÷ 8 × 20 = 92.5" in eight.text and "4.62分 × 20" not in eight.text


@pytest.mark.parametrize("weights", [{"inspection": 0.7, "ratings": 0.3}, {"inspection": 1, "ratings": 3},
                                     {"inspection": 2, "ratings": 1}])
def test_every_printed_explanation_adds_up_from_its_printed_figures(weights):
    policy = SubjectPolicy(weights=weights, min_ratings=1)
    checked = 0
    for minor in range(0, 4):
        for severe in (0, 1, 11):
            for n in (1, 3, 7, 8, 9):
                for low in range(0, n + 1, 2):
                    scores = [5] * (n - low) + [2] * low
                    result = rules.score(fig(minor=minor, severe=severe, scores=scores), policy,
                                         {"minor": 1.5, "serious": 5, "severe": 10})
                    checked += _check_arithmetic(result.text)
    assert checked > 300


# --- supervised matters (督办落实), where the policy weighs them -------------------------------------------

def test_the_on_time_rate_of_supervised_matters_counts_only_where_the_policy_weighs_it():
    f = Figures(visits=1, matters_closed=4, matters_on_time=3, **rules.tally([5] * 10))
    plain = rules.score(f, POLICY, BY_SEV)
    assert [c.code for c in plain.components] == ["inspection", "ratings"] and plain.value == 100.0
    weighed = SubjectPolicy(weights={"inspection": 0.6, "ratings": 0.2, "matters": 0.2}, min_ratings=10)
    result = rules.score(f, weighed, BY_SEV)
    matters = result.components[-1]
    assert (matters.code, matters.counted, matters.score) == ("matters", True, 75.0)
    assert "牵头督办事项办结4件，按期办结3件，3 ÷ 4 × 100 = 75.0" in result.text
    assert result.value == 95.0  # (100 × 0.6 + 100 × 0.2 + 75 × 0.2) ÷ 1
    assert "(100.0 × 0.6 + 100.0 × 0.2 + 75.0 × 0.2) ÷ 1 = 95.0" in result.text
    third = rules.score(Figures(visits=1, matters_closed=3, matters_on_time=1), weighed, BY_SEV)
    assert "1 ÷ 3 × 100 ≈ 33.3" in third.text  # rounded: the sign says so
    few = rules.score(Figures(visits=1, matters_closed=1, matters_on_time=1),
                      SubjectPolicy(weights={"inspection": 1, "ratings": 0, "matters": 1}, min_matters=2), BY_SEV)
    assert not few.components[-1].counted and "不足2件，不计入" in few.text and few.value == 100.0


def test_the_rankings_policy_takes_a_matters_weight_for_units_only():
    from inspect_api.config import PROJECT_ROOT

    text = (PROJECT_ROOT / "checklists" / "policy" / "rankings.yaml").read_text(encoding="utf-8")
    shipped = parse(text, "rankings.yaml")
    assert shipped.units.weights["matters"] == 0 and shipped.units.min_matters == 1
    weighed = parse(text.replace("matters: 0}", "matters: 0.2}"), "rankings.yaml")
    assert weighed.units.weights["matters"] == 0.2 and "督办落实得分" in rules.method_text(weighed)
    assert "督办落实" not in rules.method_text(shipped)
    with pytest.raises(PolicyError, match="staff.weights.matters"):
        parse(text.replace("weights: {inspection: 0.8, ratings: 0.2}",
                           "weights: {inspection: 0.8, ratings: 0.2, matters: 0.1}"), "rankings.yaml")
