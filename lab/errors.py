"""Errors a user can fix: printed as one line, with no traceback."""


class LabError(Exception):
    """Bad input or a missing resource; the message is one line naming the setting and what is allowed."""


def require(ok: bool, message: str) -> None:
    if not ok:
        raise LabError(message)


def one_of(name: str, value, allowed) -> None:
    require(value in allowed, f"{name}={value} is not allowed; allowed: {', '.join(map(str, allowed))}")


def auto_or_bool(name: str, value) -> None:
    """A setting that is true, false or auto (chosen per device)."""
    require(value in ("auto", True, False), f"{name}={value} is not allowed; allowed: auto, true, false")


def at_least(name: str, value, low) -> None:
    require(isinstance(value, (int, float)) and value >= low, f"{name}={value} is out of range: allowed ≥ {low}")
