"""accumulate: the same n_real real images + n_synthetic samples of *every* earlier generation; the training
set grows by n_synthetic per generation (Gerstgrasser et al.)."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class Accumulate(Loop):
    name = "accumulate"

    def compose(self, step: Step) -> TrainingSet:
        return concat(step.fixed_real(), *(step.samples_of(k) for k in range(step.generation)))
