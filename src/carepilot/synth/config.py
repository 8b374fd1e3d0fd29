"""Parameters of a synthetic population and of the pilot effects planted in it.

`SynthConfig` is the single input of `carepilot.synth.generate`. It is a frozen
dataclass so a scenario can be hashed, compared and written verbatim to
`scenario.json` (the "truth" an evaluation must recover).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from carepilot.errors import ConfigError

EFFECT_KINDS: dict[str, str] = {
    "emergency_admissions": "relative",
    "ae_attendances": "relative",
    "outpatient_follow_ups": "relative",
    "community_contacts": "relative",
    "bp_control": "absolute",
    "hba1c_control": "absolute",
    "experience_positive": "absolute",
    "ltc_eq5d_gain": "absolute",
}
"""Outcomes that can carry a planted pilot effect.

"relative" effects multiply an event rate by (1 + effect) from the practice's start
month on (-0.08 = 8 % fewer). "absolute" effects add to a probability (0.05 =
+5 percentage points) or, for `ltc_eq5d_gain`, to the EQ-5D index gain.
"""

EFFECT_DESCRIPTIONS: dict[str, str] = {
    "emergency_admissions": "rate of emergency hospital admissions (apcs, "
    "admission_method = emergency), including readmissions and the linked A&E "
    "attendances with disposal = admitted",
    "ae_attendances": "rate of A&E attendances not ending in admission (ec)",
    "outpatient_follow_ups": "rate of outpatient follow-up appointments (opa, "
    "attendance_type = follow_up)",
    "community_contacts": "rate of community health service contacts",
    "bp_control": "probability that a blood pressure reading of a patient on the "
    "hypertension register is <= 140/90 mmHg",
    "hba1c_control": "probability that an HbA1c reading of a patient on the "
    "diabetes register is <= 58 mmol/mol",
    "experience_positive": "probability that a GP patient survey answer is positive",
    "ltc_eq5d_gain": "mean EQ-5D index gain (post - pre) of long-term-condition "
    "PROMs episodes whose baseline falls in the pilot period",
}

DEFAULT_EFFECTS: dict[str, float] = {
    "emergency_admissions": -0.08,
    "ae_attendances": 0.0,
    "outpatient_follow_ups": -0.20,
    "community_contacts": 0.10,
    "bp_control": 0.05,
    "hba1c_control": 0.0,
    "experience_positive": 0.03,
    "ltc_eq5d_gain": 0.03,
}


@dataclass(frozen=True, slots=True)
class PilotEffects:
    """Planted pilot effects, one number per outcome in `EFFECT_KINDS`.

    Use `PilotEffects.null()` for the null scenario (no effect anywhere), which an
    evaluation must not find significant more often than its nominal error rate.
    """

    values: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_EFFECTS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.values) - set(EFFECT_KINDS))
        if unknown:
            raise ConfigError(
                f"unknown pilot effect(s) {', '.join(unknown)}; "
                f"valid effects are: {', '.join(EFFECT_KINDS)}"
            )
        for name, value in self.values.items():
            if EFFECT_KINDS[name] == "relative" and value <= -1:
                raise ConfigError(
                    f"pilot effect `{name}` is relative and must be > -1 "
                    f"(-1 would remove every event); got {value}"
                )
            if EFFECT_KINDS[name] == "absolute" and not -1 < value < 1:
                raise ConfigError(
                    f"pilot effect `{name}` is an absolute change of a probability "
                    f"and must be between -1 and 1; got {value}"
                )

    @classmethod
    def null(cls) -> PilotEffects:
        """No effect on any outcome (the null case)."""
        return cls({name: 0.0 for name in EFFECT_KINDS})

    def get(self, name: str) -> float:
        """Effect on `name` (0 when not set)."""
        return self.values.get(name, 0.0)

    def multiplier(self, name: str) -> float:
        """Rate multiplier `1 + effect` for a relative effect."""
        return 1.0 + self.get(name)


@dataclass(frozen=True, slots=True)
class SynthConfig:
    """Everything that determines a synthetic population (with `seed`, bit for bit).

    Attributes:
        patients: number of patients ever registered in the period.
        seed: root seed; every random stream is derived from it.
        start: first day of the observation period (first of a month).
        months: length of the period in months.
        practices: number of GP practices; None picks ~1 per 7,500 patients.
        pilot_practices: practices that join the pilot; None picks ~20 %.
        pilot_start_month: month index (0-based, from `start`) the pilot begins.
        staggered: stagger practices' start by 0, 3, 6 or 9 months (by PCN).
        pilots: most pilot sites to open; None opens one per commissioner with
            pilot practices, 1 puts every pilot practice in one pilot ``ICP01``
            (what a coverage study of one pilot needs).
        effects: planted pilot effects.
        chunk_size: patients generated per chunk (memory bound; part of the
            stream layout, so changing it changes the data).
    """

    patients: int = 10_000
    seed: int = 1
    start: date = date(2021, 4, 1)
    months: int = 36
    practices: int | None = None
    pilot_practices: int | None = None
    pilot_start_month: int | None = None
    staggered: bool = False
    pilots: int | None = None
    effects: PilotEffects = field(default_factory=PilotEffects)
    chunk_size: int = 250_000

    def __post_init__(self) -> None:
        if self.patients < 1:
            raise ConfigError(f"--patients must be at least 1; got {self.patients}")
        if self.seed < 0:
            raise ConfigError(f"--seed must be >= 0; got {self.seed}")
        if self.start.day != 1:
            raise ConfigError(
                f"--start must be the first day of a month; got {self.start}"
            )
        if not 1 <= self.months <= 240:
            raise ConfigError(f"--months must be between 1 and 240; got {self.months}")
        if self.practices is not None and self.practices < 2:
            raise ConfigError(f"--practices must be at least 2; got {self.practices}")
        n_practices = self.n_practices
        if self.pilot_practices is not None and not (
            0 <= self.pilot_practices < n_practices
        ):
            raise ConfigError(
                f"--pilot-practices must be between 0 and {n_practices - 1} "
                f"(fewer than --practices, to leave comparators); "
                f"got {self.pilot_practices}"
            )
        if not 0 <= self.pilot_month < self.months:
            raise ConfigError(
                f"the pilot start month must fall inside the {self.months}-month "
                f"period; got month {self.pilot_month}"
            )
        if self.pilots is not None and self.pilots < 1:
            raise ConfigError(f"--pilots must be at least 1; got {self.pilots}")
        if self.chunk_size < 1_000:
            raise ConfigError(f"chunk_size must be >= 1000; got {self.chunk_size}")

    @property
    def n_practices(self) -> int:
        """Number of practices (explicit or ~1 per 7,500 patients, at least 4)."""
        if self.practices is not None:
            return self.practices
        return max(4, round(self.patients / 7_500))

    @property
    def n_pilot_practices(self) -> int:
        """Number of pilot practices (explicit or ~20 %, at least 1)."""
        if self.pilot_practices is not None:
            return self.pilot_practices
        return max(1, round(0.2 * self.n_practices))

    @property
    def pilot_month(self) -> int:
        """0-based month the pilot starts (explicit or a third into the period)."""
        if self.pilot_start_month is not None:
            return self.pilot_start_month
        return self.months // 3

    def to_json(self) -> dict[str, Any]:
        """JSON-ready parameters for `scenario.json`."""
        data = asdict(self)
        data["start"] = self.start.isoformat()
        data["effects"] = dict(self.effects.values)
        data["n_practices"] = self.n_practices
        data["n_pilot_practices"] = self.n_pilot_practices
        data["pilot_month"] = self.pilot_month
        return data
