"""Settings with named values: each is a `Named` enum in its option's config, so that OmegaConf rejects any other
value while Hydra composes the config (before anything is written), and `python -m lab` names the allowed ones."""

from enum import Enum


class Named(str, Enum):
    """A setting's named values. A member is a str equal to its value, and prints, formats and serialises (YAML,
    JSON, W&B) as that value, so code compares it with plain strings and run directories read as before."""

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @classmethod
    def values(cls) -> tuple[str, ...]:
        return tuple(member.value for member in cls)
