"""fresh: a new draw of n_real real images every generation + n_synthetic samples of generation t−1 (MAD's
fresh data loop). It draws from the finite real pool, so draws of different generations overlap there."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class Fresh(Loop):
    name = "fresh"

    def compose(self, step: Step) -> TrainingSet:
        return concat(step.fresh_real(), step.samples_of(step.generation - 1))
