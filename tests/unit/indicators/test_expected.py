"""External expected-rate tables: parsing, located errors and loading."""

from __future__ import annotations

import pytest

from carepilot.errors import DefinitionError
from carepilot.indicators.expected import imd_quintile, parse_expected
from carepilot.indicators.load import load_definition

GOOD = """sex,age_from,age_to,expected_percent
female,65,74,2.0
female,75,,10.0
male,65,74,1.5
male,75,,8.0
"""


def _error(text: str) -> str:
    with pytest.raises(DefinitionError) as info:
        parse_expected(text, "exp.csv")
    return str(info.value)


def test_rates_by_sex_and_open_ended_top_band() -> None:
    table = parse_expected(GOOD, "exp.csv")
    assert (table.by_sex, table.by_quintile, table.min_age) == (True, False, 65)
    assert table.rate_for("female", 74, None) == pytest.approx(0.02)
    assert table.rate_for("female", 75, None) == pytest.approx(0.10)
    assert table.rate_for("male", 120, None) == pytest.approx(0.08)
    assert table.rate_for("male", 64, None) is None  # below the first band
    assert table.rate_for("unknown", 70, None) is None  # sex not listed
    by_q = parse_expected(
        "age_from,age_to,imd_quintile,expected_percent\n"
        + "".join(f"0,,{q},{q}\n" for q in range(1, 6)),
        "q.csv",
    )
    assert by_q.rate_for(None, 40, 3) == pytest.approx(0.03)
    assert by_q.rate_for(None, 40, None) is None  # deprivation unknown
    assert [imd_quintile(d) for d in (1, 2, 3, 10, None)] == [1, 1, 2, 5, None]


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("", ["exp.csv:1", "empty"]),
        ("age_from,age_to\n", ["exp.csv:1", "missing column(s) expected_percent"]),
        (
            "age_from,age_to,expected_percent,ethnicity\n",
            ["unknown column(s) ethnicity"],
        ),
        (
            "sex,age_from,age_to,expected_percent\nwoman,65,,3\n",
            ["exp.csv:2: column `sex`: `woman` is not one of female, male"],
        ),
        (
            "age_from,age_to,expected_percent\n65,74,2\n75,,150\n",
            ["exp.csv:3: column `expected_percent`: `150` is not a percentage"],
        ),
        (
            "age_from,age_to,expected_percent\nsixty,74,2\n",
            ["exp.csv:2: column `age_from`: `sixty` is not a whole number"],
        ),
        (
            "age_from,age_to,expected_percent\n70,65,2\n",
            ["exp.csv:2: column `age_to`: `65` is not at least age_from (70)"],
        ),
        (
            "age_from,age_to,imd_quintile,expected_percent\n0,,6,2\n",
            ["exp.csv:2: column `imd_quintile`: `6` is not a quintile"],
        ),
        (
            "age_from,age_to,expected_percent\n65,74,2\n76,,3\n",
            ["exp.csv:3: column `age_from`: `76` leaves ages 75-75", "expected 75"],
        ),
        (
            "age_from,age_to,expected_percent\n65,75,2\n75,,3\n",
            ["exp.csv:3: ages 75-120 overlap row 2 (65-75)"],
        ),
        (
            "sex,age_from,age_to,expected_percent\nfemale,65,,2\nmale,60,,3\n",
            ["age bands differ between sex=female and sex=male"],
        ),
        (
            "sex,age_from,age_to,imd_quintile,expected_percent\n"
            "female,65,,1,2\nfemale,65,,2,2\nmale,65,,1,2\n",
            ["no rows for sex=male, imd_quintile=2"],
        ),
        ("age_from,age_to,expected_percent\n", ["has no rows"]),
    ],
)
def test_bad_tables_name_file_row_column_value_and_expectation(
    text: str, fragments: list[str]
) -> None:
    message = _error(text)
    for fragment in fragments:
        assert fragment in message, message


def test_every_bad_row_is_reported_at_once() -> None:
    message = _error(
        "sex,age_from,age_to,expected_percent\nwoman,65,74,2\nmale,x,,200\n"
    )
    assert "exp.csv:2: column `sex`" in message
    assert "exp.csv:3: column `age_from`" in message
    assert "exp.csv:3: column `expected_percent`" in message


DEFINITION = """id: ratio
version: 1
title: T
domain: registers
value_type: {vt}
polarity: no_judgement
expected: {path}
population: registered and age >= 65
numerator: age >= 80
"""


def test_definition_loads_expected_table_and_locates_problems() -> None:
    files = {"exp.csv": GOOD, "bad.csv": "age_from,age_to,expected_percent\n1,x,2\n"}
    defn = load_definition(
        DEFINITION.format(vt="isr", path="exp.csv"), "d.yaml", files.get
    )
    assert defn.expected is not None and defn.expected.path == "exp.csv"
    cases = [
        ("proportion", "exp.csv", "d.yaml:7: `expected:`", "needs `value_type: isr`"),
        (
            "isr",
            "missing.csv",
            "d.yaml:7: expected-rate table `missing.csv` not found",
            "",
        ),
        (
            "isr",
            "bad.csv",
            "d.yaml:7: expected-rate table: bad.csv:2: column `age_to`",
            "",
        ),
    ]
    for vt, path, where, hint in cases:
        with pytest.raises(DefinitionError) as info:
            load_definition(DEFINITION.format(vt=vt, path=path), "d.yaml", files.get)
        assert where in str(info.value) and hint in str(info.value)
