"""Seeded synthetic populations with realistic inequality gradients and a known,
planted integrated-care-pilot effect.

Public API:

* `SynthConfig`, `PilotEffects`: what to generate (`PilotEffects.null()` for none).
* `generate(config) -> dict[str, pyarrow.Table]`: every canonical table in memory.
* `write_population(config, out_dir, fmt)`: stream every table to Parquet/CSV
  plus `scenario.json` (the truth the evaluation must recover).
* `iter_tables(config)`: the chunked stream behind both.

See `docs/synthetic-population.md` for the distributions and effects.
"""

from carepilot.synth.config import (
    DEFAULT_EFFECTS,
    EFFECT_KINDS,
    PilotEffects,
    SynthConfig,
)
from carepilot.synth.generate import generate, iter_tables, scenario, write_population

__all__ = [
    "DEFAULT_EFFECTS",
    "EFFECT_KINDS",
    "PilotEffects",
    "SynthConfig",
    "generate",
    "iter_tables",
    "scenario",
    "write_population",
]
