"""Render an assembled quality account to HTML (Jinja2) and PDF (WeasyPrint).

The same HTML serves the web page (``standalone=False`` gives the fragment the
web app wraps in its NHS.UK layout) and the PDF (standalone page with print CSS:
A4, running header, page numbers). Charts are SVG embedded as data URIs with alt
text, so the PDF needs no network and no browser.
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from carepilot.publication.colours import TEXT_COLOURS, colour, label
from carepilot.publication.quality_account.model import QualityAccount


def _fmt(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:,.{digits}f}"


def _count(value: float | None) -> str:
    return _fmt(value, 0)


def _svg_uri(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def environment() -> Environment:
    """Jinja2 environment over ``carepilot/publication/templates``."""
    env = Environment(
        loader=PackageLoader("carepilot.publication", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        fmt=_fmt,
        count=_count,
        svg_uri=_svg_uri,
        sig_colour=colour,
        sig_label=label,
        sig_text=lambda c: TEXT_COLOURS.get(c, "#000"),
    )
    return env


def render_html(account: QualityAccount, standalone: bool = True) -> str:
    """The quality account as HTML (a full page, or the body fragment)."""
    template = environment().get_template("quality_account.html.j2")
    return template.render(qa=account, standalone=standalone)


def render_pdf(html: str, path: Path) -> Path:
    """Write the PDF of a standalone HTML quality account with WeasyPrint."""
    from weasyprint import HTML

    path.parent.mkdir(parents=True, exist_ok=True)
    HTML(string=html).write_pdf(path)
    return path


def write(account: QualityAccount, out_dir: Path) -> dict[str, Path]:
    """Write ``<provider>-<year>.html`` and ``.pdf`` into `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"quality-account-{account.provider_code}-{account.year_label.replace('/', '-')}"
    html = render_html(account)
    html_path = out_dir / f"{stem}.html"
    html_path.write_text(html, encoding="utf-8")
    return {"html": html_path, "pdf": render_pdf(html, out_dir / f"{stem}.pdf")}
