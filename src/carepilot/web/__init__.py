"""The programme web application (FastAPI + Jinja2 + NHS.UK design system) and JSON API."""

from carepilot.web.app import create_app

__all__ = ["create_app"]
