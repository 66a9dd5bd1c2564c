"""none: the samples enter later training sets as drawn."""

from lab.curate.base import Curated, Mitigation
from lab.loops import Samples


class NoCuration(Mitigation):
    name = "none"

    def __call__(self, first: Samples, model, n: int) -> Curated:
        return Curated(first, 0, 0, 1.0)
