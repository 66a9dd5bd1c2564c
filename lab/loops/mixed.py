"""mixed: the same n_real real images every generation (the first of generation 0's) + n_synthetic samples of
generation t−1 (MAD's synthetic augmentation loop; Bertrand et al.)."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class Mixed(Loop):
    name = "mixed"

    def compose(self, step: Step) -> TrainingSet:
        return concat(step.fixed_real(), step.samples_of(step.generation - 1))
