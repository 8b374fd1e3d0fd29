"""Definition loading: valid files load; every kind of mistake names file, line and a fix."""

from pathlib import Path

import pytest

from carepilot.engine.definitions import SHIPPED_LIBRARY, load_definitions
from carepilot.errors import DefinitionError
from carepilot.indicators.expr import Type
from carepilot.indicators.load import load_definition
from carepilot.indicators.model import Polarity, ValueType
from carepilot.indicators.periods import PeriodRuleKind

CODELISTS = {
    "dm.csv": "code,term\n44054006,Type 2 diabetes\n46635009,Type 1 diabetes\n",
    "bad.csv": "code,term\n44054006,ok\n12345,not a sctid\n",
    "icd.csv": "code,term\nI21,MI\n",
}

GOOD = """\
id: dm-test
version: 2
title: Test
domain: diabetes
value_type: proportion
polarity: higher_is_better
period: last_12_months
target: 70
codelists:
  dm: dm.csv
population: registered and age >= 17
numerator: has(dm, within=ever)
exceptions: age > 90
"""


def load(text: str):  # type: ignore[no-untyped-def]
    return load_definition(text, "lib/x.yaml", CODELISTS.get)


def error(text: str) -> str:
    with pytest.raises(DefinitionError) as info:
        load(text)
    return str(info.value)


def test_good_definition_loads() -> None:
    d = load(GOOD)
    assert d.id == "dm-test" and d.version == 2
    assert d.value_type is ValueType.PROPORTION and d.multiplier == 100
    assert d.polarity is Polarity.HIGHER_IS_BETTER
    assert (
        d.period_rule.kind is PeriodRuleKind.LAST_N_MONTHS
        and d.period_rule.months == 12
    )
    assert d.codelists["dm"].codes == ("44054006", "46635009")
    assert d.numerator.type is Type.BOOL
    assert d.lines["numerator"] == 12


def test_shipped_examples_are_valid() -> None:
    defs = load_definitions([SHIPPED_LIBRARY / "examples"])
    assert len(defs) >= 6
    assert {d.value_type for d in defs} == set(ValueType)


def test_unknown_key_names_line_and_allowed_keys() -> None:
    msg = error(GOOD + "numerater: x\n")
    assert (
        "lib/x.yaml:14" in msg
        and "unknown key `numerater`" in msg
        and "numerator" in msg
    )


def test_missing_required_field() -> None:
    msg = error(GOOD.replace("numerator: has(dm, within=ever)\n", ""))
    assert "`numerator` is required" in msg


def test_bad_enum_value_has_line() -> None:
    msg = error(GOOD.replace("polarity: higher_is_better", "polarity: up"))
    assert "lib/x.yaml:6" in msg and "polarity" in msg


def test_bad_slug() -> None:
    assert "slug" in error(GOOD.replace("id: dm-test", "id: DM Test"))


def test_unknown_function_has_line_column_and_suggestion() -> None:
    msg = error(GOOD.replace("has(dm, within=ever)", "hass(dm, within=ever)"))
    assert "lib/x.yaml:12 (column 1 " in msg
    assert "did you mean `has`" in msg


def test_expression_error_in_block_scalar_points_at_its_line() -> None:
    text = GOOD.replace(
        "population: registered and age >= 17\n",
        "population: >\n  registered\n  and agee >= 17\n",
    )
    # folded scalars join lines, so the line is the first of the block
    assert "lib/x.yaml:12" in error(text)
    text = GOOD.replace(
        "population: registered and age >= 17\n",
        "population: |\n  registered\n  and agee >= 17\n",
    )
    msg = error(text)
    assert "lib/x.yaml:13 (column 5" in msg and "unknown name `agee`" in msg


def test_unknown_codelist() -> None:
    msg = error(GOOD.replace("has(dm,", "has(dn,"))
    assert "not a codelist declared" in msg and "did you mean `dm`" in msg


def test_missing_codelist_file() -> None:
    msg = error(GOOD.replace("dm: dm.csv", "dm: nowhere.csv"))
    assert "lib/x.yaml:10" in msg and "nowhere.csv" in msg and "not found" in msg


def test_code_not_in_system_names_codelist_line() -> None:
    msg = error(GOOD.replace("dm: dm.csv", "dm: bad.csv"))
    assert "bad.csv:3" in msg and "12345" in msg and "SNOMED CT" in msg


def test_codelist_of_wrong_system_for_table() -> None:
    text = GOOD.replace(
        "dm: dm.csv", "dm:\n    path: icd.csv\n    system: icd10"
    ).replace("has(dm, within=ever)", "has(dm, table=clinical_events, within=ever)")
    msg = error(text)
    assert "icd10 codes" in msg and "snomedct" in msg


def test_bad_window() -> None:
    msg = error(GOOD.replace("within=ever", "within=12 weeks"))
    assert "bad window" in msg and "12 months" in msg


def test_missing_window() -> None:
    assert "needs a window" in error(GOOD.replace("has(dm, within=ever)", "has(dm)"))


def test_type_mismatch_numerator() -> None:
    msg = error(GOOD.replace("has(dm, within=ever)", "count(dm, within=ever)"))
    assert "numerator must be a condition" in msg


def test_type_mismatch_comparison() -> None:
    msg = error(GOOD.replace("age >= 17", 'age >= "old"'))
    assert "cannot be compared" in msg


def test_unknown_column_filter() -> None:
    msg = error(
        GOOD.replace(
            "has(dm, within=ever)",
            'has(table=apcs, admision_method="emergency", within=ever)',
        )
    )
    assert (
        "`admision_method` is not a column of `apcs`" in msg
        and "admission_method" in msg
    )


def test_disallowed_value() -> None:
    msg = error(GOOD.replace("age >= 17", 'sex == "f"'))
    assert '"f" is not a value of `sex`' in msg


def test_exceptions_only_for_proportions() -> None:
    text = GOOD.replace("value_type: proportion", "value_type: crude_rate")
    assert "exceptions (personalised care adjustments) apply only" in error(text)


def test_bad_period_rule() -> None:
    assert "last_12_months" in error(
        GOOD.replace("period: last_12_months", "period: monthly")
    )


def test_yaml_syntax_error_has_line() -> None:
    assert "lib/x.yaml:4: not valid YAML" in error(
        "id: a\nversion: 1\ntitle: [unclosed\n"
    )


def test_duplicate_key() -> None:
    assert "appears twice" in error(GOOD + "title: again\n")


def test_all_errors_of_a_file_reported_together() -> None:
    text = GOOD.replace("has(dm,", "has(dn,").replace("age >= 17", "agee >= 17")
    msg = error(text)
    assert "population" in msg and "numerator" in msg


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    (tmp_path / "dm.csv").write_text(CODELISTS["dm.csv"])
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(DefinitionError, match="already used"):
        load_definitions([tmp_path])


def test_breakdowns_field_loads_with_total_first() -> None:
    d = load(GOOD + "breakdowns: [sex, imd_quintile]\n")
    assert d.breakdowns == ("total", "sex", "imd_quintile")
    assert load(GOOD).breakdowns is None


def test_unknown_breakdown_names_its_line_and_the_choices() -> None:
    msg = error(GOOD + "breakdowns:\n  - sex\n  - imd_quintel\n")
    assert "lib/x.yaml:16" in msg
    assert "unknown breakdown `imd_quintel`" in msg and "imd_quintile" in msg


def test_breakdowns_must_be_a_list_of_names() -> None:
    msg = error(GOOD + "breakdowns: 3\n")
    assert "lib/x.yaml:14" in msg and "breakdowns" in msg


EVENTS = """\
id: opa-dna
version: 1
title: DNA rate
domain: hospital use
value_type: proportion
polarity: lower_is_better
unit: event
events: >
  table=opa, attendance_status=["attended", "dna"],
  within=period
population: registered
numerator: attendance_status == "dnaa"
"""


def test_event_level_definition_loads_and_errors_name_the_line() -> None:
    from carepilot.indicators.model import Unit

    d = load(EVENTS.replace('"dnaa"', '"dna"'))
    assert d.unit is Unit.EVENT and d.events is not None
    assert d.events.source.table == "opa"
    msg = error(EVENTS)
    assert "lib/x.yaml:12 (column 1 of the expression): numerator:" in msg
    assert "did you mean `dna`" in msg


def test_event_level_mistakes() -> None:
    no_events = "\n".join(
        line for line in EVENTS.splitlines() if not line.startswith(("events", "  "))
    )
    assert "`unit: event` needs `events:`" in error(no_events)
    assert "`events:` needs `unit: event`" in error(EVENTS.replace("unit: event\n", ""))
    assert "standardisation is by person" in error(
        EVENTS.replace("value_type: proportion", "value_type: dsr")
    )
    bad_window = EVENTS.replace("within=period", "within=30 days after period_end")
    assert (
        "lib/x.yaml:9 (column 1 of the expression): events: the counted events need"
        in error(bad_window)
    )
    patient_level = GOOD.replace(
        "numerator: has(dm, within=ever)", 'numerator: attendance_status == "dna"'
    )
    assert "event-level indicator (`unit: event`)" in error(patient_level)


def test_target_minimum_loads_below_the_goal() -> None:
    d = load(GOOD.replace("target: 70\n", "target: 80\ntarget_minimum: 70\n"))
    assert d.target == 80 and d.target_minimum == 70
    assert load(GOOD).target_minimum is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("target: 70\n", "`target_minimum` needs `target`"),
        ("target: 70\ntarget_minimum: 75\n", "must be below target 70"),
        ("target: 70\ntarget_minimum: 70\n", "must be below target 70"),
    ],
)
def test_target_minimum_errors_name_the_line(change: str, message: str) -> None:
    text = GOOD.replace("target: 70\n", change)
    if "needs" in message:
        text = text.replace("target: 70\n", "target_minimum: 60\n")
    got = error(text)
    assert message in got and "lib/x.yaml" in got and "target_minimum" in got


def test_target_minimum_direction_follows_polarity() -> None:
    lower = GOOD.replace("higher_is_better", "lower_is_better")
    assert load(lower.replace("target: 70\n", "target: 70\ntarget_minimum: 80\n"))
    assert "must be above target 70" in error(
        lower.replace("target: 70\n", "target: 70\ntarget_minimum: 60\n")
    )
    none = GOOD.replace("higher_is_better", "no_judgement")
    assert "needs a polarity" in error(
        none.replace("target: 70\n", "target: 70\ntarget_minimum: 60\n")
    )
