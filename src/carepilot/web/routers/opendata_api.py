"""Public JSON API of the open data (`carepilot.publication.opendata.query`).

Rows are the Fingertips data-download columns of the released results; no login is
needed, and the same disclosure check as the pages applies (`verify_released`).
Filters are repeated query parameters (any value matches), e.g.
``/api/opendata/indicators?area_code=A81001&area_code=A81002&page_size=50``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from carepilot.publication import opendata
from carepilot.web.deps import Anyone
from carepilot.web.routers.publication import PublicationDep

router = APIRouter(prefix="/api/opendata", tags=["open data"])

FILTERS: dict[str, str] = {
    "indicator_id": "Indicator ID",
    "area_code": "Area Code",
    "area_type": "Area Type",
    "parent_code": "Parent Code",
    "sex": "Sex",
    "age": "Age",
    "category_type": "Category Type",
    "category": "Category",
    "time_period": "Time period",
    "compared_to_england": "Compared to England value or percentiles",
}
"""Query parameter → open-data column it filters (text equality)."""


class OpenDataPage(BaseModel):
    """One page of open-data rows."""

    page: int = Field(description="1-based page number")
    page_size: int = Field(description="rows per page (1..1000)")
    total: int = Field(description="rows matching the filters")
    pages: int = Field(description="number of pages")
    columns: list[str] = Field(description="column names, in order")
    rows: list[dict[str, Any]] = Field(
        description="rows keyed by column name; missing values are null"
    )


class ColumnDoc(BaseModel):
    name: str
    description: str


class IndicatorDoc(BaseModel):
    id: str
    name: str
    domain: str
    definition: str
    polarity: str
    value_type: str
    unit: str
    target: float | None = None


class OpenDataMetadata(BaseModel):
    """What the open data is: licence, disclosure policy, columns, indicators."""

    title: str
    licence: Any
    disclosure_policy: dict[str, str]
    source_results_sha256: str
    rows: int
    columns: list[ColumnDoc]
    indicators: list[IndicatorDoc]


@router.get("/indicators", name="api_opendata_rows", response_model=OpenDataPage)
async def rows(
    actor: Anyone,
    pub: PublicationDep,
    page: int = Query(1, ge=1, description="page number, from 1"),
    page_size: int = Query(100, ge=1, le=opendata.MAX_PAGE_SIZE),
    indicator_id: list[str] | None = Query(None, description="Indicator ID"),
    area_code: list[str] | None = Query(None, description="Area Code"),
    area_type: list[str] | None = Query(
        None, description="national, commissioner, pcn, practice or pilot"
    ),
    parent_code: list[str] | None = Query(None, description="Parent Code"),
    sex: list[str] | None = Query(None, description="Persons, Female or Male"),
    age: list[str] | None = Query(None, description="e.g. All ages, 40-44 yrs"),
    category_type: list[str] | None = Query(None, description="Category Type"),
    category: list[str] | None = Query(None, description="Category"),
    time_period: list[str] | None = Query(
        None, description="e.g. 2023/24, 2023 Q3, Jul 2023"
    ),
    compared_to_england: list[str] | None = Query(
        None, description="Better, Similar, Worse, Higher, Lower, Not compared"
    ),
) -> dict[str, Any]:
    """Released indicator values in the Fingertips download columns, paged.

    Every filter may be repeated; a row matches when its column equals any of
    the given values. Suppressed values are null with a value note.
    """
    given = {
        "indicator_id": indicator_id,
        "area_code": area_code,
        "area_type": area_type,
        "parent_code": parent_code,
        "sex": sex,
        "age": age,
        "category_type": category_type,
        "category": category,
        "time_period": time_period,
        "compared_to_england": compared_to_england,
    }
    filters = {FILTERS[k]: v for k, v in given.items() if v}
    return opendata.query(pub.released(), filters, page, page_size, pub.meta)


@router.get("/metadata", name="api_opendata_metadata", response_model=OpenDataMetadata)
async def metadata(actor: Anyone, pub: PublicationDep) -> dict[str, Any]:
    """Licence, disclosure policy, column dictionary and indicator definitions."""
    from carepilot.publication.results import frame_checksum, verify_released

    results = pub.released()
    policy = verify_released(results)
    info = {k: v for k, v in pub.meta.items() if k in set(results["indicator_id"])}
    return opendata.metadata(
        info, policy.name, policy.source, frame_checksum(results), len(results)
    )
