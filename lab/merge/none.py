"""merge=none: the fitted model samples as it is."""

from lab.merge.base import Merge


class NoMerge(Merge):
    name = "none"

    def __call__(self, model, generation: int, fit) -> None:
        pass
