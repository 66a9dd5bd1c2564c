"""Errors a user can fix: printed as one line, with no traceback."""


class LabError(Exception):
    """Bad input or a missing resource; the message is one line naming the setting and what is allowed."""
