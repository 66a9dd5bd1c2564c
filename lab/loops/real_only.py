"""real_only, the control: generation 0's real images every generation, from scratch (its share of real data is
1 by definition), so its spread over generations and seeds is the retraining noise no synthetic data widens."""

from lab.loops.base import Loop, Step, TrainingSet


class RealOnly(Loop):
    name = "real_only"
    real_fraction = 1.0

    def compose(self, step: Step) -> TrainingSet:
        return step.fixed_real()
