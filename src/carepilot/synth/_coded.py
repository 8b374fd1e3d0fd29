"""Accumulate coded rows from several codelists into one Arrow table.

Used for `clinical_events` (SNOMED CT, with numeric values) and `medications`
(dm+d). Codes are stored as indices into the concatenated codelists and turned
into strings once, by Arrow, when the table is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from carepilot.codelists import load_codelist
from carepilot.synth._arrow import Cat, Masked, build_table
from carepilot.synth._sampling import FloatArray, IntArray, pick_codes
from carepilot.synth.population import Patients


@dataclass(slots=True)
class CodedRows:
    """Accumulates coded rows from many codelists; builds one Arrow table."""

    owners: list[IntArray] = field(default_factory=list[IntArray])
    days: list[IntArray] = field(default_factory=list[IntArray])
    codes: list[IntArray] = field(default_factory=list[IntArray])
    values: list[FloatArray] = field(default_factory=list[FloatArray])
    categories: list[str] = field(default_factory=list[str])
    _offset: dict[str, int] = field(default_factory=dict[str, int])

    def add(
        self,
        rng: np.random.Generator,
        codelist: str,
        owner: IntArray,
        day: IntArray,
        value: FloatArray | None = None,
        code_idx: IntArray | None = None,
    ) -> None:
        """Add rows coded from `codelist` (code chosen per row unless given)."""
        codes = load_codelist(codelist).codes
        if codelist not in self._offset:
            self._offset[codelist] = len(self.categories)
            self.categories.extend(codes)
        if code_idx is None:
            code_idx = pick_codes(rng, len(codes), len(owner))
        self.owners.append(np.asarray(owner, dtype=np.int64))
        self.days.append(np.asarray(day, dtype=np.int64))
        self.codes.append(code_idx + self._offset[codelist])
        self.values.append(
            np.full(len(owner), np.nan) if value is None else np.asarray(value, float)
        )

    def table(self, table_name: str, pts: Patients, code_column: str) -> pa.Table:
        if not self.owners:
            return build_table(table_name, 0, {})
        owner = np.concatenate(self.owners)
        day = np.concatenate(self.days)
        code = np.concatenate(self.codes)
        value = np.concatenate(self.values)
        columns: dict[str, object] = {
            "patient_id": pts.patient_id[owner],
            "date": day,
            code_column: Cat(code, self.categories),
        }
        if table_name == "clinical_events":
            columns["numeric_value"] = Masked(np.nan_to_num(value), ~np.isnan(value))
        return build_table(table_name, len(owner), columns)  # type: ignore[arg-type]
