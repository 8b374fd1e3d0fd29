"""Append-only, hash-chained audit log of every workflow change."""
