"""carepilot: run outcome-based integrated care programmes end to end.

Importing the package has no side effects: no environment reads, no connections.
"""

__version__ = "0.1.0"
