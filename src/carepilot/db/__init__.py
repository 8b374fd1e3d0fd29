"""Workflow database: declarative base, engine/session factory and Alembic migrations.

Imported only by `*/tables.py`, `*/repo.py`, `*/service.py`, `web/deps.py` and `cli/db.py`.
"""
