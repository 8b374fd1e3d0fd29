"""QOF payment rules reproduce the worked examples of the national guidance.

Source: /work/shared/reference/qof_and_disclosure.md (Lincolnshire LMC "QOF Point
value and Prevalence"; QOF 2025/26 HYP008 and DM020 thresholds).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from carepilot.errors import ConfigError
from carepilot.qof import rules
from carepilot.qof.model import parse_scheme


def test_lincs_lmc_af_example() -> None:
    # 2022/23: 29 AF points x GBP 207.56 x CPI 1.71 x APDF 1.45
    # = 6,019.24 x 1.71 = 10,292.9004 x 1.45 = 14,924.705580 -> GBP 14,924.71
    pay = rules.payment(Decimal(29), "207.56", Decimal("1.71"), Decimal("1.45"))
    assert pay == Decimal("14924.71")


def test_hyp008_worked_example() -> None:
    # 1,200 eligible, 150 PCAs, 780 achieved: 780 / 1,050 = 74.2857 %
    ach = rules.achievement(780, 1200 - 150)
    assert ach is not None and round(ach, 2) == Decimal("74.29")
    # points = 38 x (74.2857 - 40) / (85 - 40) = 28.95
    pts = rules.points(ach, 38, 40, 85)
    assert round(pts, 2) == Decimal("28.95")
    # CPI = 12,000 / 9,964 = 1.2043; APDF = 16.0 / 14.5 = 1.1034
    cpi = rules.contractor_population_index(12_000, 9_964)
    assert round(cpi, 4) == Decimal("1.2043")
    factor = rules.apdf(Decimal("16.0"), Decimal("14.5"))
    pay = rules.payment(pts, "220.62", cpi, factor)
    # guidance: "payment ~ GBP 8,488"
    assert abs(pay - Decimal(8488)) < 1
    # reaching 85 %: 0.85 x 1,050 = 892.5 -> 893 achievers, 113 more patients
    assert rules.patients_needed(780, 1050, 85) == 113


def test_dm020_worked_example() -> None:
    # 560 / (900 - 60) = 66.67 % -> 17 x (66.67 - 35) / 40 = 13.46 points
    ach = rules.achievement(560, 840)
    assert round(rules.points(ach, 17, 35, 75), 2) == Decimal("13.46")


@pytest.mark.parametrize(
    ("achieved", "expected"),
    [(None, 0), (0, 0), (40, 0), (40.0001, None), (62.5, 19), (85, 38), (100, 38)],
)
def test_points_thresholds(achieved: float | None, expected: float | None) -> None:
    pts = rules.points(achieved, 38, 40, 85)
    if expected is None:
        assert 0 < pts < Decimal("0.001")
    else:
        assert pts == Decimal(expected)


def test_gap_points_mirror_image() -> None:
    assert rules.gap_points(Decimal(1), 10, 2, 10) == 10  # narrow gap: full
    assert rules.gap_points(Decimal(6), 10, 2, 10) == 5  # halfway: 10 x 4/8
    assert rules.gap_points(Decimal(12), 10, 2, 10) == 0
    assert rules.gap_points(Decimal(-3), 10, 2, 10) == 10  # deprived group ahead
    assert rules.gap_points(None, 10, 2, 10) == 0


def test_patients_needed_edges() -> None:
    assert rules.patients_needed(90, 100, 85) == 0  # already above
    assert rules.patients_needed(0, 0, 85) == 0  # no denominator
    assert rules.patients_needed(84, 100, 85) == 1


def test_bad_thresholds_and_schemes_are_reported() -> None:
    with pytest.raises(ConfigError, match="lower < upper"):
        rules.points(50, 10, 80, 40)
    with pytest.raises(ConfigError, match=r"scheme.yaml: invalid QOF scheme: .*lower"):
        parse_scheme(
            "name: x\npounds_per_point: 1\nindicators:\n"
            "  - {id: A, indicator: x, points: 1, lower: 90, upper: 50}\n",
            "scheme.yaml",
        )
    with pytest.raises(ConfigError, match="exactly one of"):
        parse_scheme(
            "name: x\npounds_per_point: 1\nindicators:\n"
            "  - {id: A, points: 1, lower: 10, upper: 50}\n",
            "scheme.yaml",
        )


def test_example_scheme_parses() -> None:
    from pathlib import Path

    path = Path(__file__).resolve().parents[3] / "examples" / "qof" / "local-qof.yaml"
    scheme = parse_scheme(path.read_text(), str(path))
    assert scheme.pounds_per_point == Decimal("220.62")
    assert scheme.max_points == Decimal(38 + 14 + 17 + 27 + 12 + 10 + 10)
