"""Coverage by density in the space where images are scored: the feature classifier's 64-d features of real digits
(lab.metrics.tails_validation). Stand-in generators with a known defect: real images less the sparsest 20% by the
lab's own density score must lose the sparsest decile and keep the denser half; images pulled toward their class
mean must lose the core and overall recall. The floor band per decile comes from 5 real draws."""

import pytest

from lab.metrics.tails import CORE
from lab.metrics.tails_validation import core, recall, table, validate


@pytest.fixture(scope="module")
def scored(digits_evaluator):
    evaluator, real = digits_evaluator
    return validate(real, evaluator.embed, evaluator.k, draws=5), len(real.heldout_labels)


def test_real_images_without_their_sparsest_fifth_lose_the_tail_and_keep_the_core(scored):
    found, n = scored
    frame = table(found, n)
    assert len([s for s in found if s.name == "real"]) >= 5
    tail = frame.iloc[0]
    assert tail.no_tail < tail.band_low, frame.to_string()
    dense = frame.iloc[CORE]
    assert ((dense.no_tail >= dense.band_low) & (dense.no_tail <= dense.band_high)).all(), frame.to_string()


def test_images_pulled_toward_their_class_mean_lose_the_core_and_recall(scored):
    found, n = scored
    frame = table(found, n)
    assert core(frame, "shrunk") < core(frame, "band_low"), frame.to_string()
    assert recall(found, "shrunk") < recall(found, "real") - 0.2
