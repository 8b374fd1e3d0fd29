"""Publication pages: indicator dashboards, open data, choose a practice or service.

Thin routes over `carepilot.publication`: every page builds `View`s (chart spec +
the exact rows it draws) with ``public=True``, so each figure passes through
`verify_released` and `public_rows` whoever is signed in. A results file that is
not disclosure controlled is refused with 403 on every page. Views are cached by
the publication package (content checksum + arguments), so a repeated page does
no computation; the inline SVG is rendered once per view.

Where the data comes from (`Publication`, kept on ``app.state.publication``):
the indicator results file (``Settings.results``, ``carepilot serve --results``),
indicator metadata of the shipped library, and the practices' and providers'
coordinates and provider types from the analytics database
(``Settings.analytics_db``) when it exists.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response

from carepilot.errors import (
    InputDataError,
    InsufficientDataError,
    UnsupportedOperation,
    UserError,
)
from carepilot.programmes.model import NotFound
from carepilot.publication import choice, dashboards, inequalities
from carepilot.publication.charts import to_svg
from carepilot.publication.colours import SIGNIFICANCE_COLOURS
from carepilot.publication.results import (
    IndicatorMeta,
    default_meta,
    file_checksum,
    meta_for,
    read_results,
    verify_released,
)
from carepilot.publication.views import View, partitioned
from carepilot.web.deps import Anyone
from carepilot.web.rendering import render

router = APIRouter(tags=["pages: publication"])

AREA_TYPES: dict[str, str] = {
    "practice": "GP practices",
    "pcn": "Primary care networks",
    "commissioner": "Commissioners (PCTs)",
    "pilot": "Integrated care pilots",
    "provider": "Providers (trusts)",
    "national": "England",
}
BREAKDOWNS: dict[str, str] = {
    "imd_decile": "Deprivation decile (IMD)",
    "imd_quintile": "Deprivation quintile (IMD)",
    "ethnicity_5": "Ethnic group (5 groups)",
    "ethnicity_16": "Ethnic group (16 groups)",
    "sex": "Sex",
    "age_band": "Age band",
    "disability": "Disability",
    "religion": "Religion",
    "sexual_orientation": "Sexual orientation",
    "rural_urban": "Rural or urban",
}
COLOUR_BY: dict[str, str] = {
    "england": "Comparison with England",
    "goal": "Comparison with goal",
}
"""How the tartan rug on /compare can be coloured."""
CHARTS = ("browser", "profile", "bar", "tartan", "funnel", "trends", "breakdown", "gap")
OPEN_DATA_FILES = {
    "indicators.csv": "text/csv; charset=utf-8",
    "indicators.parquet": "application/vnd.apache.parquet",
    "metadata.json": "application/json",
    "SHA256SUMS": "text/plain; charset=utf-8",
}
_SIG_CLASS = {c.upper(): k.replace(" ", "-") for k, c in SIGNIFICANCE_COLOURS.items()}
_STYLE_RE = re.compile(r'style="background:(#[0-9A-Fa-f]{6});color:#[0-9A-Fa-f]{3,6}"')


@dataclass
class Publication:
    """The published data a web app serves (one results file, checked once).

    Attributes:
        results: Released results table (contract columns).
        meta: Indicator metadata (titles, definitions, polarity, targets).
        practices: ``practice_code``, ``practice_name``, ``latitude``,
            ``longitude``, ``postcode``, ``pcn``, ``commissioner`` (names).
        providers: ``provider_code``, ``provider_name``, ``provider_type``,
            ``commissioner_code``, ``postcode``, ``latitude``, ``longitude`` of
            the providers with provider rows in the results.
        checksum: SHA-256 of the results file (open-data cache key).
        export_root: Folder where open-data exports are generated on demand.
        error: Why nothing can be published (no file, or not disclosure
            controlled); pages show it instead of figures.
    """

    results: pd.DataFrame | None
    meta: dict[str, IndicatorMeta] = field(default_factory=dict[str, IndicatorMeta])
    practices: pd.DataFrame = field(default_factory=pd.DataFrame)
    providers: pd.DataFrame = field(default_factory=pd.DataFrame)
    checksum: str = ""
    export_root: Path = Path("var/publication/open-data")
    error: UserError | None = None
    has_coordinates: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def released(self) -> pd.DataFrame:
        """The results table, or the reason it cannot be shown (raised)."""
        if self.error is not None:
            raise self.error
        if self.results is None:
            raise NotFound(
                "no indicator results are published yet; start the app with "
                "`carepilot serve --results FILE` (a released results table)"
            )
        return self.results


def _practices_from_results(results: pd.DataFrame) -> pd.DataFrame:
    rows = results[results["area_type"] == "practice"][
        ["area_code", "area_name"]
    ].drop_duplicates("area_code")
    return pd.DataFrame(
        {
            "practice_code": rows["area_code"].to_numpy(),
            "practice_name": rows["area_name"].to_numpy(),
            "latitude": np.nan,
            "longitude": np.nan,
            "postcode": None,
        }
    )


def _practices_from_db(db: Path) -> pd.DataFrame | None:
    if not db.is_file():
        return None
    try:
        from carepilot.store import open_database

        con = open_database(db, read_only=True)
        try:
            return con.execute(
                "SELECT practice_code, practice_name, latitude, longitude, postcode "
                "FROM practices"
            ).df()
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - coordinates are optional (name search works)
        return None


PROVIDER_COLUMNS = (
    "provider_code",
    "provider_name",
    "provider_type",
    "commissioner_code",
    "postcode",
    "latitude",
    "longitude",
)


def _providers_from_db(db: Path) -> pd.DataFrame | None:
    """The providers table; databases loaded before providers had a location lack
    the location columns, which then stay empty."""
    if not db.is_file():
        return None
    try:
        from carepilot.store import open_database

        con = open_database(db, read_only=True)
        try:
            frame = con.execute("SELECT * FROM providers").df()
        finally:
            con.close()
    except Exception:  # noqa: BLE001 - provider details are optional (names remain)
        return None
    return frame.reindex(columns=list(PROVIDER_COLUMNS))


def _providers(results: pd.DataFrame, analytics_db: Path | None) -> pd.DataFrame:
    """Providers with provider rows in the results (type and location from the
    database when it exists, else names only)."""
    rows = results[results["area_type"] == "provider"][
        ["area_code", "area_name"]
    ].drop_duplicates("area_code")
    from_db = _providers_from_db(analytics_db) if analytics_db else None
    if from_db is not None:
        return from_db[from_db["provider_code"].isin(set(rows["area_code"]))]
    frame = pd.DataFrame(
        {
            "provider_code": rows["area_code"].to_numpy(),
            "provider_name": rows["area_name"].to_numpy(),
        }
    )
    return frame.reindex(columns=list(PROVIDER_COLUMNS))


def _with_parents(practices: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Add PCN and commissioner names, so a search by area name finds practices."""
    areas = results.drop_duplicates("area_code").set_index("area_code")
    parent = areas["parent_area_code"].to_dict()
    names = areas["area_name"].to_dict()
    pcn = [parent.get(c) for c in practices["practice_code"]]
    comm = [parent.get(p) if p else None for p in pcn]
    out = practices.copy()
    out["pcn"] = [names.get(p, "") if p else "" for p in pcn]
    out["commissioner"] = [names.get(c, "") if c else "" for c in comm]
    return out


def load_publication(
    results_path: Path | None,
    analytics_db: Path | None = None,
    export_root: Path = Path("var/publication/open-data"),
    meta: Mapping[str, IndicatorMeta] | None = None,
) -> Publication:
    """Read and check a results file once, for the lifetime of the app.

    A results file that fails `verify_released` is kept out entirely: the
    `Publication` only carries the refusal, so no page can show its figures.
    """
    if results_path is None:
        return Publication(results=None, export_root=export_root)
    try:
        results = read_results(results_path)
        verify_released(results)
    except UserError as exc:
        return Publication(results=None, export_root=export_root, error=exc)
    info = meta_for(results, dict(meta) if meta is not None else default_meta())
    from_db = _practices_from_db(analytics_db) if analytics_db else None
    practices = from_db if from_db is not None else _practices_from_results(results)
    practices = practices[
        practices["practice_code"].isin(results["area_code"].unique())
    ].reset_index(drop=True)
    return Publication(
        results=results,
        meta=info,
        practices=_with_parents(practices, results),
        providers=_providers(results, analytics_db).reset_index(drop=True),
        checksum=file_checksum(results_path),
        export_root=export_root,
        has_coordinates=bool(practices["latitude"].notna().any()),
    )


_LOAD_LOCK = threading.Lock()


def warm_up(pub: Publication) -> threading.Thread:
    """Prepare the published tables and the landing views in a background thread.

    The first visitor otherwise pays for checking the release, blanking suppressed
    rows and building the filter choices of a 600k-row table. Started when the
    publication is loaded; errors are left for the pages to report.
    """

    def work() -> None:
        if pub.results is None or pub.error is not None:
            return
        try:
            from carepilot.publication.views import partitioned

            partitioned(pub.results, True)
            _options(pub)
            _lookups(pub)
            # The chart renderer starts a JavaScript engine on first use (~1.5 s).
            to_svg({"mark": "point", "data": {"values": [{"x": 1}]}, "encoding": {}})
            # Through `build_view`, exactly as the pages call it (same cache keys).
            _block(build_view("browser", {}, pub), "browser", {})
            # Tartan rugs do not depend on the indicator chosen on /compare and a
            # practice rug is thousands of cells: render them before anyone asks.
            present = _lookups(pub)["by_type"]
            for area_type in ("practice", "pcn", "commissioner", "pilot", "provider"):
                if area_type in present:
                    params = {"area_type": area_type}
                    _block(build_view("tartan", params, pub), "tartan", params)
            _definition_html(_first_indicator(pub))  # builds the library pages
        except UserError:  # pragma: no cover - the pages show the error
            return

    thread = threading.Thread(target=work, name="publication-warm-up", daemon=True)
    thread.start()
    return thread


def get_publication(request: Request) -> Publication:
    """The app's `Publication`, loaded from the settings on first use."""
    state = request.app.state
    pub = getattr(state, "publication", None)
    if isinstance(pub, Publication):
        return pub
    with _LOAD_LOCK:
        pub = getattr(state, "publication", None)
        if not isinstance(pub, Publication):
            settings = state.settings
            pub = load_publication(
                getattr(settings, "results", None),
                getattr(settings, "analytics_db", None),
                Path(getattr(settings, "publication_dir", "var/publication"))
                / "open-data",
            )
            state.publication = pub
            warm_up(pub)
    return pub


PublicationDep = Annotated[Publication, Depends(get_publication)]


# ---------------------------------------------------------------- helpers


def _parse_period(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InputDataError(
            f"period `{text}` is not a date; give the period start as YYYY-MM-DD"
        ) from exc


def table_html(view: View, caption: str | None = None) -> str:
    """The view's accessible table with significance colours as CSS classes.

    The strict Content-Security-Policy forbids inline styles, so the colour of a
    comparison cell comes from ``static/publication.css``; the text label stays.
    """

    def swap(match: re.Match[str]) -> str:
        slug = _SIG_CLASS.get(match.group(1).upper(), "not-compared")
        return f'data-sig="{slug}"'

    return _STYLE_RE.sub(swap, view.table_html(caption))


_TABLES: dict[int, tuple[View, str]] = {}


def _table_once(view: View) -> str:
    """`table_html` of a cached view, built once (a practice tartan rug is
    thousands of cells; rebuilding its HTML was most of a cached /compare)."""
    known = _TABLES.get(id(view))
    if known is not None and known[0] is view:
        return known[1]
    text = table_html(view)
    if len(_TABLES) > 256:
        _TABLES.clear()
    _TABLES[id(view)] = (view, text)
    return text


def _block(view: View, chart: str, params: Mapping[str, str | None]) -> dict[str, Any]:
    """What a page needs to show one view: SVG, accessible table, CSV link."""
    query = "&".join(f"{k}={v}" for k, v in params.items() if v)
    return {
        "key": view.key,
        "title": view.title,
        "summary": view.summary,
        "svg": view.svg(),
        "table": _table_once(view),
        "csv": f"/dashboards/{chart}.csv" + (f"?{query}" if query else ""),
        "rows": len(view.data),
        "extra": dict(view.extra),
    }


_LOOKUPS: dict[tuple[int, str], dict[str, Any]] = {}


def _lookups(pub: Publication) -> dict[str, Any]:
    """Indicator ids, each area's first row and the areas of each type, built once
    per published results file: testing membership by iterating a 600k-row
    column of strings per request cost about a second a page."""
    key = (id(pub), pub.checksum)
    if key not in _LOOKUPS:
        if len(_LOOKUPS) > 16:
            _LOOKUPS.clear()
        results = pub.released()
        codes = results["area_code"].drop_duplicates(keep="first")
        firsts = results.loc[codes.index, ["area_type", "area_code"]]
        by_type: dict[str, list[str]] = {}
        for kind, code in zip(firsts["area_type"], firsts["area_code"], strict=True):
            by_type.setdefault(str(kind), []).append(str(code))
        _LOOKUPS[key] = {
            "area_rows": firsts.assign(area_name=results.loc[codes.index, "area_name"]),
            "indicators": frozenset(str(i) for i in results["indicator_id"].unique()),
            "areas": dict(
                zip(codes.astype(str).tolist(), codes.index.tolist(), strict=True)
            ),
            "by_type": {k: sorted(v) for k, v in by_type.items()},
        }
    return _LOOKUPS[key]


def _indicator_or_404(pub: Publication, indicator_id: str) -> IndicatorMeta:
    if indicator_id not in _lookups(pub)["indicators"]:
        raise NotFound(
            f"indicator `{indicator_id}` is not in the published results; see "
            "/indicators for the list"
        )
    return pub.meta[indicator_id]


def _area_or_404(pub: Publication, area_code: str) -> pd.Series:
    position = _lookups(pub)["areas"].get(area_code)
    if position is None:
        raise NotFound(
            f"area `{area_code}` is not in the published results; see /areas"
        )
    return pub.released().loc[position]


_OPTIONS: dict[tuple[int, str], dict[str, Any]] = {}


def _options(pub: Publication) -> dict[str, Any]:
    """Choices for the filter forms, computed once per published results file."""
    key = (id(pub), pub.checksum)
    if key not in _OPTIONS:
        if len(_OPTIONS) > 16:
            _OPTIONS.clear()
        _OPTIONS[key] = _build_options(pub)
    return _OPTIONS[key]


def _build_options(pub: Publication) -> dict[str, Any]:
    """Choices for the filter forms (indicators, areas, breakdowns, periods)."""
    results = pub.released()
    areas = (
        results[["area_type", "area_code", "area_name"]]
        .drop_duplicates("area_code")
        .sort_values(["area_type", "area_name"])
    )
    present = set(results["breakdown"].unique())
    area_types_present = set(results["area_type"].unique())
    return {
        "indicators": sorted(
            ((i, pub.meta[i].title) for i in results["indicator_id"].unique()),
            key=lambda x: x[1],
        ),
        "areas": [
            (str(code), f"{name} ({AREA_TYPES.get(str(kind), str(kind))})")
            for kind, code, name in areas.itertuples(index=False)
        ],
        "area_types": [
            (k, v) for k, v in AREA_TYPES.items() if k in area_types_present
        ],
        "breakdowns": [(k, v) for k, v in BREAKDOWNS.items() if k in present],
        "periods": sorted(
            {str(p) for p in results["period_start"].unique()}, reverse=True
        ),
    }


def _first_indicator(pub: Publication) -> str:
    return min(_lookups(pub)["indicators"])


def _first_area(pub: Publication, area_type: str = "practice") -> str:
    by_type: dict[str, list[str]] = _lookups(pub)["by_type"]
    if by_type.get(area_type):
        return by_type[area_type][0]
    return min(code for codes in by_type.values() for code in codes)


def build_view(chart: str, params: Mapping[str, str | None], pub: Publication) -> View:
    """The `View` of one chart for the page parameters (shared by page and CSV)."""
    results = pub.released()
    meta = pub.meta
    indicator = params.get("indicator") or ""
    area = params.get("area") or ""
    area_type = params.get("area_type") or "practice"
    breakdown = params.get("breakdown") or "imd_decile"
    period = _parse_period(params.get("period"))
    try:
        match chart:
            case "browser":
                return dashboards.indicator_browser(results, meta)
            case "profile":
                return dashboards.area_profile(results, area, period, meta)
            case "bar":
                return dashboards.compare_bar(
                    results, indicator, area_type, period, params.get("parent"), meta
                )
            case "tartan":
                return dashboards.tartan_rug(
                    results,
                    area_type,
                    None,
                    meta,
                    colour_by=params.get("colour") or "england",
                )
            case "funnel":
                return dashboards.funnel(results, indicator, area_type, period, meta)
            case "trends":
                is_pilot = _area_or_404(pub, area)["area_type"] == "pilot"
                if not is_pilot and indicator in meta:
                    # Only pilots have target trajectories; `trends` would
                    # otherwise fall back to the indicator's national target.
                    meta = {**meta, indicator: replace(meta[indicator], target=None)}
                target = meta[indicator].target if is_pilot else None
                return dashboards.trends(
                    results,
                    indicator,
                    area,
                    params.get("trend_breakdown") or "total",
                    params.get("category") or "all",
                    target=target,
                    meta=meta,
                )
            case "breakdown":
                return inequalities.breakdown_view(
                    results, indicator, area, breakdown, period, meta
                )
            case "gap":
                return inequalities.gap_over_time(
                    results, indicator, area, breakdown, meta
                )
            case _:
                raise NotFound(f"no chart `{chart}`; charts are: {', '.join(CHARTS)}")
    except KeyError as exc:
        raise NotFound(f"`{exc.args[0]}` is not in the published results") from exc


def _safe_views(
    specs: list[tuple[str, Mapping[str, str | None]]], pub: Publication
) -> tuple[list[dict[str, Any]], list[str]]:
    """Build several views; a view without data becomes a message, not an error."""
    blocks: list[dict[str, Any]] = []
    notes: list[str] = []
    for chart, params in specs:
        try:
            view = build_view(chart, params, pub)
        except (InputDataError, InsufficientDataError, UnsupportedOperation) as exc:
            # e.g. too few published groups for a gap, or no funnel for a DSR
            notes.append(str(exc))
            continue
        blocks.append(_block(view, chart, params))
    return blocks, notes


def _unavailable(request: Request, pub: Publication, title: str) -> Response | None:
    """A page explaining why nothing is shown (no results file configured)."""
    if pub.error is not None:
        raise pub.error
    if pub.results is None:
        return render(
            request,
            "publication/unavailable.jinja",
            {"title": title},
        )
    return None


# ---------------------------------------------------------------- pages


@router.get("/indicators", name="indicator_browser")
async def indicator_browser(
    request: Request, actor: Anyone, pub: PublicationDep, domain: str | None = None
) -> Response:
    """Every published indicator by domain with the latest England value."""
    page = _unavailable(request, pub, "Indicators")
    if page is not None:
        return page
    view = build_view("browser", {}, pub)
    data = view.data
    domains = view.extra.get("domains", [])
    if domain:
        data = data[data["domain"] == domain]
    groups = [
        (d, part.to_dict(orient="records"))
        for d, part in data.groupby("domain", sort=True)
    ]
    return render(
        request,
        "publication/indicators.jinja",
        {
            "title": "Indicators",
            "view": _block(view, "browser", {}),
            "groups": groups,
            "domains": domains,
            "domain": domain,
        },
    )


@router.get("/indicators/{indicator_id}", name="indicator_definition")
async def indicator_definition(
    request: Request, indicator_id: str, actor: Anyone, pub: PublicationDep
) -> Response:
    """The indicator's definition (metadata page) and links to its dashboards."""
    page = _unavailable(request, pub, "Indicator")
    if page is not None:
        return page
    m = _indicator_or_404(pub, indicator_id)
    return render(
        request,
        "publication/indicator.jinja",
        {
            "title": m.title,
            "m": m,
            "definition_html": _definition_html(indicator_id),
            "first_area": _first_area(pub),
            "area_types": _options(pub)["area_types"],
        },
    )


def _definition_html(indicator_id: str) -> str | None:
    """The library metadata page body for the indicator (None if not shipped)."""
    try:
        from carepilot.library import metadata

        pages = _library_pages(metadata)
    except Exception:  # noqa: BLE001 - the definition page is optional content
        return None
    text = pages.get(indicator_id)
    if text is None:
        return None
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    # Demote headings one level: the page has its own h1.
    body = re.sub(r"<(/?)h([1-5])>", lambda m: f"<{m[1]}h{int(m[2]) + 1}>", body)
    return body.replace("<table>", '<table class="nhsuk-table">')


_PAGES: dict[str, str] = {}


def _library_pages(metadata: Any) -> dict[str, str]:
    if not _PAGES:
        for name, text in metadata.build_pages().items():
            _PAGES[Path(str(name)).stem] = str(text)
    return _PAGES


@router.get("/areas", name="area_list")
async def area_list(
    request: Request, actor: Anyone, pub: PublicationDep, q: str | None = None
) -> Response:
    """Every published area by type, with a text filter."""
    page = _unavailable(request, pub, "Areas")
    if page is not None:
        return page
    areas = _lookups(pub)["area_rows"]
    if q:
        needle = q.strip().lower()
        areas = areas[
            areas["area_name"].str.lower().str.contains(needle, regex=False)
            | areas["area_code"].str.lower().str.contains(needle, regex=False)
        ]
    groups = [
        (
            label,
            areas[areas["area_type"] == t].sort_values("area_name").to_dict("records"),
        )
        for t, label in AREA_TYPES.items()
    ]
    return render(
        request,
        "publication/areas.jinja",
        {"title": "Area profiles", "groups": [g for g in groups if g[1]], "q": q or ""},
    )


@router.get("/areas/{area_code}", name="area_profile")
async def area_profile(
    request: Request,
    area_code: str,
    actor: Anyone,
    pub: PublicationDep,
    period: str | None = None,
) -> Response:
    """One area against England on every indicator (spine chart)."""
    page = _unavailable(request, pub, "Area profile")
    if page is not None:
        return page
    row = _area_or_404(pub, area_code)
    params = {"area": area_code, "period": period}
    blocks, notes = _safe_views([("profile", params)], pub)
    return render(
        request,
        "publication/dashboard.jinja",
        {
            "title": f"{row['area_name']}: area profile",
            "caption": AREA_TYPES.get(str(row["area_type"]), str(row["area_type"])),
            "intro": "Each indicator's latest value for this area compared with "
            "England. In the spine chart England is the centre line, the bar spans "
            "the worst to the best area (darker band: 25th to 75th percentile) and "
            "better is always to the right; the marker's colour says whether the "
            "area is significantly better, similar or worse (95% confidence).",
            "form": {
                "action": f"/areas/{area_code}",
                "fields": [("period", "Period starting", _options(pub)["periods"])],
                "values": params,
            },
            "blocks": blocks,
            "notes": notes,
            "links": [
                (f"/trends?area={area_code}", "Trends for this area"),
                (f"/inequalities?area={area_code}", "Inequalities in this area"),
            ],
        },
    )


@router.get("/compare", name="compare_areas")
async def compare_areas(
    request: Request,
    actor: Anyone,
    pub: PublicationDep,
    indicator: str | None = None,
    area_type: str = "practice",
    parent: str | None = None,
    period: str | None = None,
    colour: str = "england",
) -> Response:
    """Tartan rug, bar chart with 95 % CIs and funnel plot for one area type.

    ``colour=goal`` colours the tartan rug by each indicator's goal (Fingertips
    "compared to goal") instead of by England."""
    page = _unavailable(request, pub, "Compare areas")
    if page is not None:
        return page
    indicator = indicator or _first_indicator(pub)
    _indicator_or_404(pub, indicator)
    params = {
        "indicator": indicator,
        "area_type": area_type,
        "parent": parent,
        "period": period,
    }
    if colour not in COLOUR_BY:
        raise InputDataError(
            f"colour `{colour}` is not one of {', '.join(COLOUR_BY)}; choose "
            "england or goal"
        )
    opts = _options(pub)
    tartan = {"area_type": area_type, "colour": colour if colour == "goal" else None}
    blocks, notes = _safe_views(
        [
            ("tartan", tartan),
            ("bar", params),
            ("funnel", {k: v for k, v in params.items() if k != "parent"}),
        ],
        pub,
    )
    return render(
        request,
        "publication/dashboard.jinja",
        {
            "title": "Compare areas",
            "intro": "Areas of one type side by side. The tartan rug shows every "
            "indicator; the bar chart and funnel plot show the chosen indicator. "
            "Colours compare each area with England using its 95% confidence "
            "interval (or, if you choose, the tartan rug compares each value with "
            "its indicator's goal); the funnel plot's lines are the 95% and 99.8% "
            "control limits around the England value.",
            "form": {
                "action": "/compare",
                "fields": [
                    ("indicator", "Indicator", opts["indicators"]),
                    ("area_type", "Type of area", opts["area_types"]),
                    ("period", "Period starting", opts["periods"]),
                    ("colour", "Colour the tartan rug by", list(COLOUR_BY.items())),
                ],
                "values": {**params, "colour": colour},
            },
            "blocks": blocks,
            "notes": notes,
            "links": [(f"/indicators/{indicator}", "Definition of this indicator")],
        },
    )


@router.get("/trends", name="trends")
async def trends(
    request: Request,
    actor: Anyone,
    pub: PublicationDep,
    indicator: str | None = None,
    area: str | None = None,
) -> Response:
    """Values over time with 95 % CIs, England and (pilots) the target trajectory."""
    page = _unavailable(request, pub, "Trends")
    if page is not None:
        return page
    indicator = indicator or _first_indicator(pub)
    area = area or _first_area(pub, "pilot")
    _indicator_or_404(pub, indicator)
    row = _area_or_404(pub, area)
    params = {"indicator": indicator, "area": area}
    opts = _options(pub)
    blocks, notes = _safe_views([("trends", params)], pub)
    target = pub.meta[indicator].target
    intro = (
        "Values by period with 95% confidence intervals and the England value "
        "for comparison."
    )
    if row["area_type"] == "pilot" and target is not None:
        intro += (
            f" As a pilot, this area also shows its target trajectory: a straight "
            f"line from its first published value to the target of {target:g}."
        )
    return render(
        request,
        "publication/dashboard.jinja",
        {
            "title": "Trends",
            "intro": intro,
            "form": {
                "action": "/trends",
                "fields": [
                    ("indicator", "Indicator", opts["indicators"]),
                    ("area", "Area", opts["areas"]),
                ],
                "values": params,
            },
            "blocks": blocks,
            "notes": notes,
            "links": [(f"/areas/{area}", f"Profile of {row['area_name']}")],
        },
    )


@router.get("/inequalities", name="inequalities")
async def inequalities_page(
    request: Request,
    actor: Anyone,
    pub: PublicationDep,
    indicator: str | None = None,
    area: str | None = None,
    breakdown: str = "imd_decile",
    period: str | None = None,
) -> Response:
    """An indicator by deprivation, ethnicity, sex, ...; SII/RII; gap over time."""
    page = _unavailable(request, pub, "Inequalities")
    if page is not None:
        return page
    indicator = indicator or _first_indicator(pub)
    area = area or _first_area(pub, "national")
    _indicator_or_404(pub, indicator)
    _area_or_404(pub, area)
    opts = _options(pub)
    if breakdown not in BREAKDOWNS:
        raise InputDataError(
            f"breakdown `{breakdown}` is not one of {', '.join(BREAKDOWNS)}"
        )
    params = {
        "indicator": indicator,
        "area": area,
        "breakdown": breakdown,
        "period": period,
    }
    blocks, notes = _safe_views(
        [
            ("breakdown", params),
            ("gap", {k: v for k, v in params.items() if k != "period"}),
        ],
        pub,
    )
    return render(
        request,
        "publication/dashboard.jinja",
        {
            "title": "Inequalities",
            "intro": "The indicator for each group of people in the area, compared "
            "with the area as a whole. For deprivation the slope index of "
            "inequality (SII: the modelled gap between the most and least deprived "
            "ends of the population) and relative index (RII: their ratio) are "
            "shown with 95% confidence limits. The gap over time shows whether "
            "the difference between groups is narrowing.",
            "form": {
                "action": "/inequalities",
                "fields": [
                    ("indicator", "Indicator", opts["indicators"]),
                    ("area", "Area", opts["areas"]),
                    ("breakdown", "Break down by", opts["breakdowns"]),
                    ("period", "Period starting", opts["periods"]),
                ],
                "values": params,
            },
            "blocks": blocks,
            "notes": notes,
            "links": [(f"/indicators/{indicator}", "Definition of this indicator")],
        },
    )


@router.get("/dashboards/{chart}.csv", name="dashboard_csv")
async def dashboard_csv(
    request: Request, chart: str, actor: Anyone, pub: PublicationDep
) -> Response:
    """CSV of exactly the rows a chart shows (the same parameters as its page)."""
    params = {k: v for k, v in request.query_params.items() if v}
    view = build_view(chart, params, pub)
    return Response(
        view.csv(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{view.key}.csv"'},
    )


# ---------------------------------------------------------------- choose a practice


def _topics(pub: Publication) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Choice topics present in the results; otherwise one topic per domain."""
    present = _lookups(pub)["indicators"]
    topics = {
        t: tuple(i for i in ids if i in present) for t, ids in choice.TOPICS.items()
    }
    topics = {t: ids for t, ids in topics.items() if ids}
    titles = dict(choice.TOPIC_TITLES)
    if not topics:
        by_domain: dict[str, list[str]] = {}
        for i in sorted(present):
            by_domain.setdefault(pub.meta[i].domain, []).append(i)
        topics = {d: tuple(ids) for d, ids in by_domain.items()}
        titles = {d: d.replace("_", " ").capitalize() for d in by_domain}
    return topics, titles


@router.get("/choose-a-practice", name="choose_practice")
async def choose_practice(
    request: Request,
    actor: Anyone,
    pub: PublicationDep,
    q: str | None = None,
    lat: float | None = Query(None, ge=-90, le=90),
    lon: float | None = Query(None, ge=-180, le=180),
    radius: float = Query(5.0, gt=0, le=100),
) -> Response:
    """Nearby practices (by latitude/longitude) or by name/area, in plain English."""
    page = _unavailable(request, pub, "Choose a GP practice")
    if page is not None:
        return page
    results = pub.released()
    topics, titles = _topics(pub)
    found: list[choice.PracticeChoice] = []
    searched = False
    message = None
    practices = pub.practices
    if lat is not None and lon is not None:
        searched = True
        found = choice.nearby_practices(
            results, practices, lat, lon, radius, 20, pub.meta, topics
        )
    elif q:
        searched = True
        needle = q.strip().lower()
        hay = (
            practices["practice_name"].str.lower()
            + " "
            + practices["practice_code"].str.lower()
            + " "
            + practices["pcn"].str.lower()
            + " "
            + practices["commissioner"].str.lower()
        )
        matched = practices[hay.str.contains(needle, regex=False)].copy()
        # Distances are meaningless for a name search: place everyone at 0, 0.
        matched["latitude"], matched["longitude"] = 0.0, 0.0
        found = choice.nearby_practices(
            results, matched, 0.0, 0.0, 1.0, 50, pub.meta, topics
        )
        found = sorted(found, key=lambda p: p.name)
    if searched and not found:
        message = (
            "No practices matched. Try a larger distance or part of the practice's "
            "name, its PCN or its commissioner."
        )
    return render(
        request,
        "publication/choice.jinja",
        {
            "title": "Choose a GP practice",
            "found": found,
            "titles": titles,
            "searched": searched,
            "by_distance": lat is not None and lon is not None,
            "message": message,
            "q": q or "",
            "lat": "" if lat is None else lat,
            "lon": "" if lon is None else lon,
            "radius": radius,
            "has_coordinates": pub.has_coordinates,
        },
    )


def _service_topics(
    pub: Publication,
) -> tuple[dict[str, tuple[str, ...]], dict[str, str]]:
    """Service topics with provider rows; otherwise one topic per domain."""
    idx = partitioned(pub.released(), True)
    present = {i for i in idx.indicators if "provider" in idx.area_types.get(i, ())}
    topics = {
        t: tuple(i for i in ids if i in present)
        for t, ids in choice.SERVICE_TOPICS.items()
    }
    topics = {t: ids for t, ids in topics.items() if ids}
    if topics:
        return topics, dict(choice.SERVICE_TOPIC_TITLES)
    by_domain: dict[str, list[str]] = {}
    for i in sorted(present):
        by_domain.setdefault(pub.meta[i].domain, []).append(i)
    return (
        {d: tuple(ids) for d, ids in by_domain.items()},
        {d: d.replace("_", " ").capitalize() for d in by_domain},
    )


@router.get("/choose-a-service", name="choose_service")
async def choose_service(
    request: Request,
    actor: Anyone,
    pub: PublicationDep,
    q: str | None = None,
    kind: str | None = None,
    lat: float | None = Query(None, ge=-90, le=90),
    lon: float | None = Query(None, ge=-180, le=180),
    radius: float = Query(25.0, gt=0, le=200),
) -> Response:
    """Nearby hospitals, community and mental health services on their own activity."""
    page = _unavailable(request, pub, "Choose a hospital or service")
    if page is not None:
        return page
    if kind and kind not in choice.SERVICE_TYPES:
        raise InputDataError(
            f"service type `{kind}` is not offered; choose from "
            f"{', '.join(choice.SERVICE_TYPES)}"
        )
    kinds = [kind] if kind else list(choice.SERVICE_TYPES)
    results = pub.released()
    topics, titles = _service_topics(pub)
    # Say which topics have no figures at all rather than leave them out silently
    # (unless the page fell back to one topic per domain).
    missing = (
        {
            choice.SERVICE_TOPIC_TITLES[t]: choice.SERVICE_TOPIC_MISSING[t]
            for t in choice.SERVICE_TOPICS
            if t not in topics
        }
        if set(topics) <= set(choice.SERVICE_TOPICS) and topics
        else {}
    )
    providers = pub.providers
    located = bool(providers["latitude"].notna().any()) if len(providers) else False
    found: list[choice.PracticeChoice] = []
    searched = False
    if lat is not None and lon is not None:
        searched = True
        found = choice.nearby_services(
            results, providers, lat, lon, radius, 20, pub.meta, topics, kinds
        )
    elif q:
        searched = True
        hay = (
            providers["provider_name"].astype(str).str.lower()
            + " "
            + providers["provider_code"].astype(str).str.lower()
        )
        matched = providers[hay.str.contains(q.strip().lower(), regex=False)].copy()
        matched["latitude"], matched["longitude"] = 0.0, 0.0
        matched["provider_type"] = matched["provider_type"].fillna("")
        found = choice.nearby_services(
            results, matched, 0.0, 0.0, 1.0, 50, pub.meta, topics,
            [*kinds, ""] if not kind else kinds,
        )  # fmt: skip
        found = sorted(found, key=lambda p: p.name)
    message = None
    if searched and not found:
        message = (
            "No services matched. Try a larger distance, another type of service "
            "or part of the organisation's name."
        )
    return render(
        request,
        "publication/service_choice.jinja",
        {
            "title": "Choose a hospital or service",
            "missing": missing,
            "found": found,
            "titles": titles,
            "kinds": choice.SERVICE_TYPES,
            "kind": kind or "",
            "searched": searched,
            "by_distance": lat is not None and lon is not None,
            "message": message,
            "q": q or "",
            "lat": "" if lat is None else lat,
            "lon": "" if lon is None else lon,
            "radius": radius,
            "has_coordinates": located,
        },
    )


# ---------------------------------------------------------------- open data


def ensure_export(pub: Publication) -> Path:
    """The open-data export of the current results, generated once and cached.

    The folder is named after the results file's SHA-256, so a new results file
    produces a new export and an old one is never served for it.
    """
    from carepilot.publication import opendata

    results = pub.released()
    folder = pub.export_root / (pub.checksum or "current")
    if (folder / "SHA256SUMS").is_file():
        return folder
    with pub.lock:
        if not (folder / "SHA256SUMS").is_file():
            tmp = folder.with_name(folder.name + ".tmp")
            opendata.export(results, tmp, pub.meta)
            tmp.replace(folder)
    return folder


@router.get("/open-data", name="open_data")
async def open_data(request: Request, actor: Anyone, pub: PublicationDep) -> Response:
    """Downloads: CSV, Parquet, metadata and checksums of the latest export."""
    page = _unavailable(request, pub, "Open data")
    if page is not None:
        return page
    from carepilot.publication.opendata import COLUMNS

    folder = ensure_export(pub)
    sums: dict[str, str] = {}
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        sums[name] = digest
    files = [
        {
            "name": name,
            "size": (folder / name).stat().st_size,
            "sha256": sums.get(name, ""),
        }
        for name in OPEN_DATA_FILES
    ]
    return render(
        request,
        "publication/opendata.jinja",
        {
            "title": "Open data",
            "files": files,
            "columns": COLUMNS,
            "rows": int(len(pub.released())),
        },
    )


@router.get("/open-data/files/{name}", name="open_data_file")
async def open_data_file(
    request: Request, name: str, actor: Anyone, pub: PublicationDep
) -> Response:
    """One file of the latest open-data export."""
    if name not in OPEN_DATA_FILES:
        raise NotFound(
            f"no open-data file `{name}`; files are: {', '.join(OPEN_DATA_FILES)}"
        )
    folder = ensure_export(pub)
    return FileResponse(
        folder / name,
        media_type=OPEN_DATA_FILES[name],
        filename=name,
    )
