"""accumulate_subsample: a new random train_size subsample of the accumulate set every generation (Kazdan et al.)."""

import torch

from lab.loops.accumulate import Accumulate
from lab.loops.base import Loop, Step, TrainingSet, select


class AccumulateSubsample(Loop):
    name = "accumulate_subsample"

    def compose(self, step: Step) -> TrainingSet:
        everything = Accumulate().compose(step)
        keep = torch.randperm(len(everything), generator=step.random_generator("subsample"))[: step.train_size]
        return select(everything, keep.sort().values)
