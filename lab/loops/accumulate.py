"""accumulate: the same n_real real images + the samples of *every* earlier generation; the training set grows
by n_synthetic per generation (Gerstgrasser et al.). Each generation's samples stay as many as entered a training
set when they were new (under a schedule: what that generation's regime took; a real_only span takes none)."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class Accumulate(Loop):
    name = "accumulate"

    def compose(self, step: Step) -> TrainingSet:
        return concat(step.fixed_real(), *(step.samples_of(k, step.taken[k]) for k in range(step.generation)))
