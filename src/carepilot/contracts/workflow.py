"""Stored contracts in the workflow database: create, edit, check, settle, simulate.

Every change is one transaction that also appends an audit event (who, when, what,
before/after): `contract.create`, `contract.update`, `contract.settle`,
`contract.simulate`. Definitions are stored as the YAML text the commissioner
wrote (so comments survive), its parsed JSON (`contract_to_dict`) and the text's
SHA-256; each save makes a new numbered version. Settlement statements and
simulation results are stored as JSON with the SHA-256 checksums of their inputs
(contract text, analytics database, indicator results), so a stored statement can
be traced to exactly what produced it.

Access (see `contracts.access`): objects a user may not see answer "not found", so
a provider cannot even learn that another provider's contract exists.
"""

from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from carepilot.accounts.model import Actor
from carepilot.audit import service as audit
from carepilot.contracts import access, repo
from carepilot.contracts.definition import contract_from_dict, load_contract_text
from carepilot.contracts.model import Contract
from carepilot.contracts.serialise import contract_to_dict
from carepilot.contracts.tables import (
    ContractPartyRow,
    ContractRow,
    ContractRunRow,
    ContractVersionRow,
)
from carepilot.db.base import utcnow
from carepilot.errors import DefinitionError, PermissionDenied, UserError
from carepilot.programmes.model import FormInvalid, NotFound

YAML_FIELD = "yaml_text"
SETTLEMENT = "settlement"
SIMULATION = "simulation"
MAX_RUNS = 5000


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    """SHA-256 of a file, read in 1 MiB blocks (analytics databases can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def parse_definition(
    yaml_text: str, known_indicator_ids: set[str] | None = None
) -> Contract:
    """Parse YAML from a form; any definition error becomes a field error (with line)."""
    if not yaml_text.strip():
        raise FormInvalid({YAML_FIELD: "Enter the contract definition (YAML)"})
    try:
        return load_contract_text(yaml_text, "contract.yaml", known_indicator_ids)
    except DefinitionError as exc:
        raise FormInvalid({YAML_FIELD: str(exc)}) from None


def _summary(row: ContractRow, ver: ContractVersionRow, c: Contract) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "title": row.title,
        "version": ver.version,
        "definition_version": c.version,
        "checksum": ver.checksum,
        "commissioner": c.parties.commissioner.code,
        "lead_provider": c.parties.lead_provider.code,
        "subcontractors": [p.code for p in c.parties.subcontractors],
    }


def _parties(contract_id: int, c: Contract) -> list[ContractPartyRow]:
    parties = [
        ("commissioner", c.parties.commissioner),
        ("lead_provider", c.parties.lead_provider),
        *(("subcontractor", p) for p in c.parties.subcontractors),
    ]
    return [
        ContractPartyRow(
            contract_id=contract_id, role=role, organisation_code=p.code, name=p.name
        )
        for role, p in parties
    ]


def _check_commissioner(actor: Actor, c: Contract) -> None:
    if not access.can_create(actor, c.parties.commissioner.code):
        raise FormInvalid(
            {
                YAML_FIELD: f"`parties.commissioner.code` is {c.parties.commissioner.code}"
                f" but you commission for {actor.pct_code or 'no PCT'}; "
                "fix: use your own PCT's code"
            }
        )


def create_contract(
    session: Session, actor: Actor, yaml_text: str
) -> repo.ContractView:
    """Store a new contract (version 1) from YAML; commissioners of its PCT and admins."""
    c = parse_definition(yaml_text)
    _check_commissioner(actor, c)
    if repo.slug_taken(session, c.id):
        raise FormInvalid(
            {
                YAML_FIELD: f"`id`: a contract `{c.id}` already exists; fix: edit it, "
                "or choose another id"
            }
        )
    now = utcnow()
    row = ContractRow(
        slug=c.id,
        title=c.title,
        commissioner_code=c.parties.commissioner.code,
        current_version=1,
        created_by=actor.id or None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    ver = _version(row, 1, yaml_text, c, actor)
    session.add(ver)
    session.add_all(_parties(row.id, c))
    session.flush()
    audit.record(
        session,
        actor,
        "contract.create",
        "contract",
        row.id,
        after=_summary(row, ver, c),
    )
    session.commit()
    return repo.contract_view(session, row)


def _version(
    row: ContractRow, number: int, yaml_text: str, c: Contract, actor: Actor
) -> ContractVersionRow:
    return ContractVersionRow(
        contract_id=row.id,
        version=number,
        yaml_text=yaml_text,
        definition=contract_to_dict(c),
        checksum=sha256_text(yaml_text),
        created_by=actor.id or None,
        created_at=utcnow(),
    )


def update_contract(
    session: Session, actor: Actor, contract_id: int, yaml_text: str
) -> repo.ContractView:
    """Save a new version of a contract (its `id` cannot change)."""
    row = editable(session, actor, contract_id)
    c = parse_definition(yaml_text)
    _check_commissioner(actor, c)
    if c.id != row.slug:
        raise FormInvalid(
            {
                YAML_FIELD: f"`id`: is `{c.id}` but this contract is `{row.slug}`; fix: "
                f"keep `id: {row.slug}` (create a new contract for a new id)"
            }
        )
    old = repo.version_row(session, row.id, row.current_version)
    before = _summary(row, old, contract_from_dict(old.definition))
    if old.checksum == sha256_text(yaml_text):
        return repo.contract_view(session, row)  # unchanged: no new version
    number = row.current_version + 1
    ver = _version(row, number, yaml_text, c, actor)
    session.add(ver)
    for party in repo.party_rows(session, row.id):
        session.delete(party)
    session.add_all(_parties(row.id, c))
    row.current_version = number
    row.title = c.title
    row.commissioner_code = c.parties.commissioner.code
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "contract.update",
        "contract",
        row.id,
        before=before,
        after=_summary(row, ver, c),
    )
    session.commit()
    return repo.contract_view(session, row)


def visible(session: Session, actor: Actor, contract_id: int) -> repo.ContractView:
    """The contract if `actor` may see it; otherwise "not found" (no existence leak)."""
    row = session.get(ContractRow, contract_id)
    if row is None:
        raise NotFound(f"contract {contract_id} does not exist")
    view = repo.contract_view(session, row)
    if not access.can_view(actor, view.commissioner_code, view.provider_codes):
        raise NotFound(f"contract {contract_id} does not exist")
    return view


def editable(session: Session, actor: Actor, contract_id: int) -> ContractRow:
    """The contract row if `actor` may change it (providers may only read)."""
    view = visible(session, actor, contract_id)
    if not access.can_edit(actor, view.commissioner_code):
        raise PermissionDenied(
            f"contract {contract_id}: only its commissioner or an admin can change it"
        )
    return repo.contract_row(session, contract_id)


def list_contracts(session: Session, actor: Actor) -> list[repo.ContractView]:
    """Contracts `actor` may see, oldest first."""
    views = [repo.contract_view(session, r) for r in repo.all_contracts(session)]
    return [
        v
        for v in views
        if access.can_view(actor, v.commissioner_code, v.provider_codes)
    ]


def stored_contract(view: repo.ContractView) -> Contract:
    """The validated contract of the current version."""
    return contract_from_dict(view.definition, f"contract {view.slug}")


@dataclass(frozen=True, slots=True)
class CheckResult:
    """One line of "run checks": what was checked, whether it passed, and why."""

    check: str
    ok: bool
    message: str


def run_checks(
    view: repo.ContractView, known_indicator_ids: set[str] | None = None
) -> list[CheckResult]:
    """Re-validate the stored definition (and indicator ids against a results file)."""
    out: list[CheckResult] = []
    try:
        c = load_contract_text(view.yaml_text, "contract.yaml")
        out.append(CheckResult("Definition", True, "valid"))
    except DefinitionError as exc:
        return [CheckResult("Definition", False, str(exc))]
    q, rs = c.quality, c.risk_share
    weights = sum(t.weight_pct for t in q.indicators) + sum(
        t.weight_pct for t in q.inequality_targets
    )
    out.append(
        CheckResult("Quality weights add up to 100 %", weights == 100, f"{weights} %")
    )
    out.append(
        CheckResult(
            "Inequality-gap target",
            bool(q.inequality_targets),
            f"{len(q.inequality_targets)} target(s)",
        )
    )
    out.append(
        CheckResult(
            "Risk share",
            True,
            f"{rs.type.value}; MSR {rs.minimum_savings_rate_pct} %, MLR "
            f"{rs.minimum_loss_rate_pct} %, caps {rs.savings_cap_pct} % / "
            f"{rs.loss_cap_pct} %",
        )
    )
    if known_indicator_ids is not None:
        missing = sorted(set(c.indicator_ids) - known_indicator_ids)
        out.append(
            CheckResult(
                "Indicators in the results file",
                not missing,
                "all present" if not missing else "missing: " + ", ".join(missing),
            )
        )
    return out


def _record_run(
    session: Session,
    actor: Actor,
    view: repo.ContractView,
    kind: str,
    year: int,
    label: str,
    result: dict[str, Any],
    checksums: dict[str, str],
) -> repo.RunView:
    row = ContractRunRow(
        contract_id=view.id,
        version=view.version,
        kind=kind,
        year=year,
        label=label[:200],
        result=result,
        input_checksums=checksums,
        created_by=actor.id or None,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        f"contract.{'settle' if kind == SETTLEMENT else 'simulate'}",
        "contract",
        view.id,
        after={
            "run_id": row.id,
            "kind": kind,
            "year": year,
            "version": view.version,
            "input_checksums": checksums,
        },
    )
    session.commit()
    return repo.run_view(row)


def store_settlement(
    session: Session,
    actor: Actor,
    contract_id: int,
    year: int,
    statements: list[dict[str, Any]],
    checksums: dict[str, str],
) -> repo.RunView:
    """Store settled statements (from `statement.statement_dict`) of one year."""
    view = visible(session, actor, contract_id)
    editable(session, actor, contract_id)
    label = f"Settlement {year}: " + ", ".join(s["period"]["label"] for s in statements)
    return _record_run(
        session,
        actor,
        view,
        SETTLEMENT,
        year,
        label,
        {"statements": statements},
        {"contract_yaml": view.checksum, **checksums},
    )


def store_simulation(
    session: Session,
    actor: Actor,
    contract_id: int,
    year: int,
    document: dict[str, Any],
    checksums: dict[str, str],
) -> repo.RunView:
    """Store a simulation document (summary, sensitivity, plot SVG)."""
    view = visible(session, actor, contract_id)
    editable(session, actor, contract_id)
    label = f"Simulation {year}: {document.get('runs', '?')} runs, seed {document.get('seed', '?')}"
    return _record_run(
        session,
        actor,
        view,
        SIMULATION,
        year,
        label,
        document,
        {"contract_yaml": view.checksum, **checksums},
    )


def get_run(
    session: Session, actor: Actor, contract_id: int, run_id: int, kind: str
) -> tuple[repo.ContractView, repo.RunView]:
    view = visible(session, actor, contract_id)
    return view, repo.run_view(repo.run_row(session, contract_id, run_id, kind))


def results_frame(results_bytes: bytes, filename: str) -> tuple[Any, str]:
    from carepilot.contracts.results import read_results

    suffix = ".parquet" if filename.lower().endswith(".parquet") else ".csv"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"results{suffix}"
        path.write_bytes(results_bytes)
        try:
            return read_results(path), hashlib.sha256(results_bytes).hexdigest()
        except UserError as exc:
            raise FormInvalid(
                {"results": str(exc).replace(str(path), filename)}
            ) from None


def _year(view: repo.ContractView, year_text: str) -> int:
    c = stored_contract(view)
    years = c.term.years()
    try:
        year = int(year_text)
    except ValueError:
        year = -1
    if year not in years:
        raise FormInvalid(
            {"year": f"Choose a contract year: {', '.join(map(str, years))}"}
        )
    return year


def settle_and_store(
    session: Session,
    actor: Actor,
    contract_id: int,
    year_text: str,
    results_bytes: bytes,
    results_name: str,
    analytics_db: Path,
    *,
    quarterly: bool = False,
) -> repo.RunView:
    """Settle a year from the analytics database and an uploaded results file, and store it."""
    from carepilot.contracts import statement as st
    from carepilot.contracts.service import run_settlement

    editable(session, actor, contract_id)
    view = visible(session, actor, contract_id)
    year = _year(view, year_text)
    if not results_bytes:
        raise FormInvalid(
            {"results": "Upload the indicator results file (CSV or Parquet)"}
        )
    results, results_sha = results_frame(results_bytes, results_name)
    if not analytics_db.exists():
        raise FormInvalid(
            {
                "year": f"The analytics database is not available on this server ({analytics_db.name})"
            }
        )
    c = stored_contract(view)
    try:
        run = run_settlement(
            c,
            analytics_db,
            results,
            year,
            quarterly=quarterly,
            results_source=results_name,
        )
    except UserError as exc:
        raise FormInvalid({"results": str(exc)}) from None
    docs = [st.statement_dict(s, c, run.model) for s in run.settlements]
    return store_settlement(
        session,
        actor,
        contract_id,
        year,
        docs,
        {"analytics_db": sha256_file(analytics_db), "indicator_results": results_sha},
    )


def simulate_and_store(
    session: Session,
    actor: Actor,
    contract_id: int,
    year_text: str,
    runs_text: str,
    results_bytes: bytes,
    results_name: str,
    analytics_db: Path,
) -> repo.RunView:
    """Simulate a year (Monte Carlo + sensitivity) and store the summary and plot."""
    from carepilot.contracts.simulate import (
        chart_svg,
        run_simulation,
        simulation_document,
    )

    editable(session, actor, contract_id)
    view = visible(session, actor, contract_id)
    year = _year(view, year_text)
    try:
        runs = int(runs_text or "500")
    except ValueError:
        runs = 0
    if not 50 <= runs <= MAX_RUNS:
        raise FormInvalid(
            {"runs": f"Enter a number of simulated years from 50 to {MAX_RUNS}"}
        )
    if not results_bytes:
        raise FormInvalid(
            {"results": "Upload the indicator results file (CSV or Parquet)"}
        )
    results, results_sha = results_frame(results_bytes, results_name)
    if not analytics_db.exists():
        raise FormInvalid(
            {
                "year": f"The analytics database is not available on this server ({analytics_db.name})"
            }
        )
    c = stored_contract(view)
    try:
        sim = run_simulation(
            c, analytics_db, results, year, runs=runs, results_source=results_name
        )
    except UserError as exc:
        raise FormInvalid({"results": str(exc)}) from None
    doc = simulation_document(sim)
    doc["plot_svg"] = chart_svg(sim)
    return store_simulation(
        session,
        actor,
        contract_id,
        year,
        doc,
        {"analytics_db": sha256_file(analytics_db), "indicator_results": results_sha},
    )
