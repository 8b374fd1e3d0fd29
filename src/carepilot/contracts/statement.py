"""Reconciliation statements as CSV, JSON, HTML and PDF.

The lines themselves (reference, description, formula, amount) come from
`carepilot.contracts.lines`, with patient counts passed through disclosure control;
the reconciliation checks of `settlement.reconciliation_checks` are listed at the
end. Renderers write the same lines to CSV, JSON and HTML (and PDF through
WeasyPrint).
"""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from carepilot.contracts.capitation import CostModel
from carepilot.contracts.lines import REDACTED, Line, disclose_count, statement_lines
from carepilot.contracts.model import Contract
from carepilot.contracts.settlement import Settlement, reconciliation_checks
from carepilot.disclosure import OPENSAFELY, DisclosurePolicy

__all__ = [
    "REDACTED",
    "Line",
    "csv_text",
    "disclose_count",
    "format_money",
    "model_summary",
    "render_html",
    "statement_dict",
    "statement_lines",
    "write_csv",
    "write_json",
    "write_pdf",
]


def model_summary(
    model: CostModel, policy: DisclosurePolicy = OPENSAFELY
) -> dict[str, Any]:
    """The cost model's coefficients and fit, JSON-safe (patient counts disclosed)."""
    return {
        "baseline_year": model.baseline_year,
        "patients": disclose_count(model.n_patients, policy),
        "person_years": round(model.person_years, 2),
        "train_patients": disclose_count(model.n_train, policy),
        "test_patients": disclose_count(model.n_test, policy),
        "r2_in_sample": round(model.r2_in_sample, 4),
        "r2_out_of_sample": round(model.r2_out_of_sample, 4),
        "coefficients_gbp_per_year": [
            {"term": t, "gbp": str(v)} for t, v in model.coefficient_table()
        ],
    }


def statement_dict(
    s: Settlement,
    contract: Contract,
    model: CostModel | None = None,
    policy: DisclosurePolicy = OPENSAFELY,
) -> dict[str, Any]:
    """The statement as JSON-safe data (amounts as strings with 2 decimals).

    Patient counts are shown as `policy` allows; the policy's name is recorded.
    """
    return {
        "contract": {
            "id": contract.id,
            "version": contract.version,
            "title": contract.title,
        },
        "commissioner": contract.parties.commissioner.name,
        "provider": contract.parties.lead_provider.name,
        "period": {
            "label": s.period_label,
            "start": s.period_start.isoformat(),
            "end": s.period_end.isoformat(),
        },
        "lines": [
            {
                "section": ln.section,
                "ref": ln.ref,
                "description": ln.description,
                "formula": ln.formula,
                "amount": None if ln.amount is None else str(ln.amount),
                "value": ln.value,
            }
            for ln in statement_lines(s, contract, policy)
        ],
        "reconciliation": [
            {"check": d, "left": str(a), "right": str(b), "ok": a == b}
            for d, a, b in reconciliation_checks(s)
        ],
        "cost_model": None if model is None else model_summary(model, policy),
        "disclosure_policy": policy.name,
    }


def csv_text(statements: list[dict[str, Any]]) -> str:
    """One CSV row per statement line of every period."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(
        [
            "contract_id",
            "period",
            "section",
            "ref",
            "description",
            "formula",
            "amount_gbp",
            "value",
        ]
    )
    for st in statements:
        for ln in st["lines"]:
            writer.writerow(
                [
                    st["contract"]["id"],
                    st["period"]["label"],
                    ln["section"],
                    ln["ref"],
                    ln["description"],
                    ln["formula"],
                    ln["amount"] or "",
                    ln["value"],
                ]
            )
    return buf.getvalue()


def write_csv(statements: list[dict[str, Any]], path: Path) -> None:
    """Write `csv_text(statements)` to `path` (UTF-8)."""
    path.write_text(csv_text(statements), encoding="utf-8", newline="")


def write_json(statements: list[dict[str, Any]], path: Path) -> None:
    """All periods' statements as one JSON document."""
    path.write_text(json.dumps({"statements": statements}, indent=2), encoding="utf-8")


def format_money(amount: str | Decimal | None) -> str:
    """Format an amount with thousands separators and 2 decimals: -1234.5 -> -1,234.50."""
    if amount is None or amount == "":
        return ""
    return f"{Decimal(amount):,.2f}"


def render_html(statements: list[dict[str, Any]]) -> str:
    """A readable HTML statement (one section per period, lines grouped by section)."""
    env = Environment(
        loader=PackageLoader("carepilot.contracts", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
    )
    env.filters["money"] = format_money
    return env.get_template("statement.html.j2").render(statements=statements)


def write_pdf(html: str, path: Path) -> None:
    """Render the HTML statement to PDF with WeasyPrint."""
    from weasyprint import HTML

    HTML(string=html).write_pdf(str(path))
