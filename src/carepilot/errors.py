"""One error hierarchy for the whole package.

`UserError` subclasses describe problems the user can fix (bad input files, bad
definitions, bad configuration). The CLI prints them without a traceback and exits
with the subclass's `exit_code`. `InternalError` means a bug in carepilot.

Messages name files, rows, columns and ids, never patient-level values beyond the
single offending cell the user supplied themselves.
"""

from __future__ import annotations


class CarePilotError(Exception):
    """Base class for every error carepilot raises on purpose."""

    exit_code: int = 1


class UserError(CarePilotError):
    """Something the user can fix: the message says what failed, where, and how to fix it."""

    exit_code = 2


class ConfigError(UserError):
    """A setting or option is missing or unsafe."""

    exit_code = 3


class InputDataError(UserError):
    """An input data file is malformed or violates the data model."""

    exit_code = 4


class DefinitionError(UserError):
    """An indicator, payment rule, scheme or contract definition is invalid."""

    exit_code = 5


class UnsupportedOperation(UserError):
    """A backend cannot run an operation; raised rather than giving a different answer."""

    exit_code = 6


class InsufficientDataError(UserError):
    """A statistical method cannot run on the data given (too few units, no pre-period, ...)."""

    exit_code = 7


class PermissionDenied(UserError):
    """The current user's role does not allow the action."""

    exit_code = 8


class InternalError(CarePilotError):
    """A bug in carepilot; please report it with the traceback."""

    exit_code = 70
