"""fully_synthetic: generation t trains on train_size samples of generation t−1 only (MAD's fully synthetic
loop; "replace"). Its share of real data is 0 by definition."""

from lab.loops.base import Loop, Step, TrainingSet, concat


class FullySynthetic(Loop):
    name = "fully_synthetic"
    real_fraction = 0.0
    pure_resampling = True

    def compose(self, step: Step) -> TrainingSet:
        return concat(step.fixed_real(), step.samples_of(step.generation - 1))  # the real part is empty
