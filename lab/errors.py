"""Errors a user can fix: printed as one line, with no traceback."""


class LabError(Exception):
    """Bad input or a missing resource; the message is one line naming the setting and what is allowed."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise LabError(message)


def one_of(name: str, value, allowed) -> None:
    require(value in allowed, f"{name}={value} is not allowed; allowed: {', '.join(map(str, allowed))}")


def at_least(name: str, value, low) -> None:
    require(isinstance(value, (int, float)) and value >= low, f"{name}={value} is out of range: allowed ≥ {low}")
