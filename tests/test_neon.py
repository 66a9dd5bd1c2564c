"""merge=neon on the diffusion model: it moves the weights that sample and nothing else. (Its closed form on the
Gaussian toy: tests/test_closed_form.py.)"""

import pytest
import torch

from lab.config import check_settings
from lab.data import load_real_data
from lab.errors import LabError
from lab.generators.diffusion_model import DiffusionGenerator
from lab.loops import REAL, TrainingSet
from lab.merge import build_merge
from tests.conftest import SMOKE, compose_cfg


def fitted(weight: float) -> tuple[DiffusionGenerator, dict, dict, object]:
    cfg = compose_cfg(*SMOKE, "train.images=128", "merge=neon", f"merge.weight={weight}", "merge.samples=64", "merge.images=64")
    real = load_real_data(cfg.data)
    model = DiffusionGenerator(cfg, real, torch.device("cpu"), progress=False)
    n = 128
    fit = model.fit(TrainingSet(real.train_images[:n], real.train_labels[:n], torch.full((n,), REAL), torch.arange(n)), 0)
    raw, sampling = model.model.state_dict(), model.sampling_weights()
    raw = {k: v.clone() for k, v in raw.items()}
    build_merge(cfg)(model, 0, fit)
    return model, raw, sampling, fit


def test_neon_moves_only_the_sampling_weights_and_weight_zero_moves_nothing():
    model, raw, before, fit = fitted(1.0)
    after = model.sampling_weights()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the weights that sample moved …
    assert all(torch.equal(raw[k], v) for k, v in model.model.state_dict().items())  # … those a warm start continues did not
    assert fit.scalars["merge/self_step"] > 0 and fit.timing["timing/merge_seconds"] > 0
    model, _, before, _ = fitted(0.0)
    assert all(torch.equal(before[k], v) for k, v in model.sampling_weights().items())  # θ − 0·(θ_self − θ) = θ, to the bit


def test_the_copy_trains_at_a_fraction_of_the_learning_rate_and_a_bad_fraction_is_refused(monkeypatch):
    import lab.generators.diffusion_model as diffusion_model

    rates = []
    real_train = diffusion_model.train_generation

    def recording(unet, scheduler, data, train_cfg, *args, **kwargs):
        rates.append(float(train_cfg.lr))
        return real_train(unet, scheduler, data, train_cfg, *args, **kwargs)

    monkeypatch.setattr(diffusion_model, "train_generation", recording)
    model, _, _, _ = fitted(1.0)
    # The generation's own training at train.lr, the self-training at merge.lr_scale (0.1) times it; train.lr as it was.
    assert rates == [pytest.approx(model.cfg.train.lr), pytest.approx(0.1 * model.cfg.train.lr)]
    assert model.cfg.merge.lr_scale == 0.1
    with pytest.raises(LabError, match=r"^merge.lr_scale=0.0 is out of range: allowed > 0"):
        check_settings(compose_cfg(*SMOKE, "merge=neon", "merge.lr_scale=0"))
