"""The expression parser: precedence, resolution and positioned errors."""

import pytest

from carepilot.indicators.expr import (
    Agg,
    And,
    EventAgg,
    Not,
    Or,
    Window,
    WindowKind,
    event_aggs,
)
from carepilot.indicators.parse import ExprError, parse_expression, tokenize
from carepilot.schema import CodeSystem

CL = {"dm": CodeSystem.SNOMEDCT, "acsc": CodeSystem.ICD10, "statins": CodeSystem.DMD}


def test_and_binds_tighter_than_or() -> None:
    node = parse_expression("registered or age > 1 and age < 5", CL)
    assert isinstance(node, Or) and isinstance(node.items[1], And)


def test_not_in_and_is_not_null() -> None:
    node = parse_expression('not sex not in ["male"] and imd_decile is not null', CL)
    assert isinstance(node, And) and isinstance(node.items[0], Not)


def test_table_inferred_from_codelist_system() -> None:
    tables = {
        name: parse_expression(f"has({name}, within=ever)", CL).source.table  # type: ignore[attr-defined]
        for name in CL
    }
    assert tables == {"dm": "clinical_events", "acsc": "apcs", "statins": "medications"}


def test_shared_event_summaries_are_deduplicated() -> None:
    node = parse_expression(
        'has(dm, within=ever) and latest_date(dm, within=ever) > date("2020-01-01")', CL
    )
    aggs = event_aggs([node, node])
    assert [a.agg for a in aggs] == [Agg.EXISTS, Agg.LATEST_DATE]


def test_windows() -> None:
    node = parse_expression("has(dm, within=2 years)", CL)
    assert isinstance(node, EventAgg)
    assert isinstance(node.window, Window)
    assert node.window.kind is WindowKind.MONTHS and node.window.length == 24


@pytest.mark.parametrize(
    ("text", "pos", "fragment"),
    [
        ("age >", 5, "expected a value"),
        ("age >= 17 age", 10, "combine conditions"),
        ("has(dm, within=ever", 19, "expected `)`"),
        ("age and registered", 0, "combines conditions"),
        (
            "latest_value(dm, within=ever, value=snomedct_code) > 1",
            30,
            "is str, not float",
        ),
        ("has(within=ever)", 0, "needs a codelist or `table=`"),
        ("count(table=nope, within=ever) > 1", 6, "not an event table"),
        ("registered(months=-1)", 0, "`months=` must be a whole number >= 0"),
        ("age ~ 3", 4, "unexpected character `~`"),
    ],
)
def test_errors_point_at_the_problem(text: str, pos: int, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_expression(text, CL)
    assert fragment in info.value.message
    assert info.value.pos == pos


def test_tokenize_strings_and_numbers() -> None:
    kinds = [t.kind for t in tokenize('x == "a b" and 1.5')]
    assert kinds == ["name", "op", "string", "kw", "number", "end"]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("latest_date(dm, within=ever) + 1.5 months > period_end", "whole number"),
        (
            "latest_date(dm, within=ever) + 3 days + 1 month > period_end",
            "write the months first",
        ),
        ("age + 1 month > 3", "only dates can be moved"),
        ("latest_date(dm, within=ever) + 3 days", "can only be compared"),
        ("age + date_of_birth > 3", "dates take `+ N days`"),
        ("has(table=apcs, within=period, where=age > 1)", "not a column of `apcs`"),
        (
            "has(table=apcs, within=period, where=has(dm, within=ever))",
            "cannot be used inside `where=`",
        ),
        ("has(dm, within=10 to 5 days after period_end)", "is empty"),
        ("has(dm, within=1 to 2 fortnights after period_end)", "months or years"),
        ("has(dm, within=2 to 1 months after period_end)", "2 to 1 months is empty"),
        (
            "has(dm, within=1 month after period_end - 3 days)",
            "needs a plain date",
        ),
        ("has(dm, within=1 to 2 days)", "needs an anchor"),
        (
            "has(table=social_care_packages, link=after_discharge_spell_id, "
            "within=ever)",
            "only works in an event-level indicator",
        ),
        ("has(dm, within=3 days after age)", "needs a date"),
        ("sum_value(table=apcs, value=admission_method, within=ever) > 1", "is str"),
        ("has(table=apcs, within=ever, where=tariff_cost)", "must be a condition"),
    ],
)
def test_new_syntax_errors_have_hints(text: str, fragment: str) -> None:
    with pytest.raises(ExprError) as info:
        parse_expression(text, CL)
    assert fragment in info.value.message


def test_relative_window_and_row_expressions_parse() -> None:
    from carepilot.indicators.expr import (
        Compare,
        DateShift,
        DaysBetween,
        PeriodDate,
        RelativeWindow,
    )

    node = parse_expression(
        "has(dm, within=10 to 56 days after earliest_date(dm, within=12 months))", CL
    )
    assert isinstance(node, EventAgg) and isinstance(node.window, RelativeWindow)
    assert (node.window.lo, node.window.hi) == (10, 56)
    before = parse_expression("has(dm, within=2 weeks before period_end)", CL)
    assert isinstance(before, EventAgg) and isinstance(before.window, RelativeWindow)
    assert (before.window.lo, before.window.hi) == (-14, 0)
    months = parse_expression("has(dm, within=1 to 2 years before period_end)", CL)
    assert isinstance(months, EventAgg) and isinstance(months.window, RelativeWindow)
    assert (months.window.lo, months.window.hi, months.window.unit) == (
        -24,
        -12,
        "months",
    )
    shift = parse_expression("period_start + 1 month - 2 days < period_end", CL)
    assert isinstance(shift, Compare) and isinstance(shift.left, DateShift)
    assert (shift.left.days, shift.left.operand) == (
        -2,
        DateShift(PeriodDate("period_start"), 0, months=1),
    )
    beds = parse_expression(
        "sum_value(table=apcs, value=discharge_date - admission_date, within=ever)", CL
    )
    assert isinstance(beds, EventAgg)
    assert isinstance(beds.source.value_expr, DaysBetween)


def test_link_is_checked_against_the_counted_table() -> None:
    def parse_row(text: str, table: str) -> ExprError:
        with pytest.raises(ExprError) as info:
            parse_expression(text, CL, row_table=table)
        return info.value

    ok = parse_expression(
        "has(table=social_care_packages, link=after_discharge_spell_id, within=ever)",
        CL,
        row_table="apcs",
    )
    assert isinstance(ok, EventAgg) and ok.source.link == "after_discharge_spell_id"
    assert (
        "does not refer"
        in parse_row(
            "has(table=social_care_packages, link=package_id, within=ever)", "apcs"
        ).message
    )
    assert (
        "no column of `social_care_packages` refers"
        in parse_row(
            "has(table=social_care_packages, link=after_discharge_spell_id, within=ever)",
            "opa",
        ).message
    )
    assert (
        "needs `within=ever`"
        in parse_row(
            "has(table=social_care_packages, link=after_discharge_spell_id, "
            "within=12 months)",
            "apcs",
        ).message
    )
