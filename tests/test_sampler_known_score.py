"""Every sampler, on a "model" whose prediction is exact, must reproduce the data distribution.

For data x0 ~ N(μ_y, s²) per pixel and x_t = √ᾱ x0 + √(1−ᾱ) ε, the exact posterior means are
E[ε | x_t] = √(1−ᾱ) (x_t − √ᾱ μ_y) / (ᾱ s² + 1 − ᾱ) and E[x0 | x_t] = (x_t − √(1−ᾱ) E[ε | x_t]) / √ᾱ.
A network that returns them (as ε, v or x0, per prediction_type) is the best a trained model can be,
so whatever mean or variance a sampler loses here it loses on every model: the check the sampler
artefacts of the first CPU default would have failed.
"""

from types import SimpleNamespace

import pytest
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler

from lab import diffusion
from lab.samplers import build_sampler, sampler_of
from lab.seeding import generator

MEANS = torch.tensor([-0.3, 0.3])  # per class; a 2-class conditional model
STD = 0.2  # well inside [-1, 1], so x0 clipping (DDIM, DPM-Solver thresholding) never binds


class ExactGaussianModel(torch.nn.Module):
    """The exact ε/v/x0 prediction for per-class Gaussian data, with UNet2DModel's interface."""

    def __init__(self, alphas_cumprod: torch.Tensor, prediction_type: str, size: int = 4):
        super().__init__()
        self.alphas_cumprod = alphas_cumprod.double()
        self.prediction_type = prediction_type
        self.config = SimpleNamespace(in_channels=1, sample_size=size, num_class_embeds=len(MEANS) + 1)

    def forward(self, x, t, class_labels):
        t = torch.as_tensor(t).long().reshape(-1)
        a = self.alphas_cumprod[t].reshape(-1, 1, 1, 1).expand(len(x), 1, 1, 1)
        mu = MEANS.double()[class_labels].reshape(-1, 1, 1, 1)
        x = x.double()
        eps = (1 - a).sqrt() * (x - a.sqrt() * mu) / (a * STD**2 + 1 - a)
        x0 = (x - (1 - a).sqrt() * eps) / a.sqrt()
        out = {"epsilon": eps, "v_prediction": a.sqrt() * eps - (1 - a).sqrt() * x0, "sample": x0}[self.prediction_type]
        return SimpleNamespace(sample=out.float())


class ExactModelThroughAConvolution(ExactGaussianModel):
    """The exact prediction passed through an identity 1×1 convolution: an op that bf16 autocast runs in bf16, as
    it runs the UNet's, so the prediction comes out rounded to bf16's 8-bit mantissa."""

    def __init__(self, alphas_cumprod: torch.Tensor, prediction_type: str):
        super().__init__(alphas_cumprod, prediction_type)
        self.identity = torch.nn.Conv2d(1, 1, 1, bias=False)
        torch.nn.init.ones_(self.identity.weight)

    def forward(self, x, t, class_labels):
        return SimpleNamespace(sample=self.identity(super().forward(x, t, class_labels).sample))


def sample_images(make_cfg, sampler: str, prediction_type, steps, schedule="squaredcos_cap_v2", bf16=False, model_type=ExactGaussianModel):
    name, *overrides = sampler.split()
    cfg = make_cfg(f"sampler={name}", *overrides, f"train.prediction_type={prediction_type}", f"train.beta_schedule={schedule}")
    train_scheduler = diffusion.build_train_scheduler(cfg.train)
    model = model_type(train_scheduler.alphas_cumprod, prediction_type)
    labels = torch.arange(1000) % 2
    images = diffusion.sample(
        model,
        build_sampler(cfg.sampler, train_scheduler),
        labels,
        steps,
        0.0,
        1000,
        generator(0, 0, "known-score"),
        torch.device("cpu"),
        **sampler_of(cfg.sampler).step_kwargs(cfg.sampler),
        progress=False,
        bf16=bf16,
    )
    return images, labels


def sample_moments(make_cfg, sampler: str, prediction_type, steps, schedule="squaredcos_cap_v2", **kwargs):
    """sampler: an option of the sampler group with its overrides, e.g. "ddim sampler.eta=1"."""
    # uint8 output quantises to steps of 2/255 ≈ 0.008: far below the tolerances below.
    images, labels = sample_images(make_cfg, sampler, prediction_type, steps, schedule, **kwargs)
    x = diffusion.to_model_range(images)
    return [(x[labels == k].mean().item(), x[labels == k].std().item()) for k in range(2)]


SAMPLERS = ["ddim", "ddim sampler.eta=1", "dpm_solver", "dpm_solver_sde", "dpm_solver_sde sampler.spacing=log_snr"]


@pytest.mark.parametrize("sampler", SAMPLERS)
@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_sampler_reproduces_gaussian_data(make_cfg, sampler, prediction_type):
    """With enough steps the discretisation error is gone: mean and spread of the data come back."""
    for k, (mean, std) in enumerate(sample_moments(make_cfg, sampler, prediction_type, steps=200)):
        assert mean == pytest.approx(MEANS[k].item(), abs=0.01), f"class {k} mean"
        assert std == pytest.approx(STD, rel=0.05), f"class {k} std"


@pytest.mark.parametrize("sampler", SAMPLERS)
def test_few_steps_shrink_the_spread_and_more_steps_undo_it(make_cfg, sampler):
    """Few steps end with a jump from the last noise level to the x0 estimate, a posterior mean with less
    spread than the data: fine detail (here, a pixel spread of 0.2) is smoothed. docs/results/2026-11-29-samplers.md quotes
    this; the default sampler at its default steps keeps ≥ 70% of the spread."""
    (_, few), _ = sample_moments(make_cfg, sampler, "epsilon", steps=10)
    (_, many), _ = sample_moments(make_cfg, sampler, "epsilon", steps=200)
    assert few < many
    assert few > 0.6 * STD


def test_a_broken_sampler_fails_the_check(make_cfg, monkeypatch):
    """The check has teeth: a sampler that skips the last step's update leaves noise in the samples."""
    original = DDIMScheduler.set_timesteps

    def drop_last_step(self, steps, device=None):
        original(self, steps, device)
        self.timesteps = self.timesteps[:-1]

    monkeypatch.setattr(DDIMScheduler, "set_timesteps", drop_last_step)
    (_, std), _ = sample_moments(make_cfg, "ddim", "v_prediction", steps=5)
    assert std > 1.1 * STD


def test_bf16_sampling_keeps_the_data_distribution(make_cfg):
    """sampler.bf16 rounds the network's prediction to bf16, never the solver's state: the default sampler at its
    default steps keeps the data's mean and spread, and the images differ from fp32's only by that rounding."""
    sampler = "dpm_solver_sde"
    fp32, labels = sample_images(make_cfg, sampler, "epsilon", 10, model_type=ExactModelThroughAConvolution)
    bf16, _ = sample_images(make_cfg, sampler, "epsilon", 10, model_type=ExactModelThroughAConvolution, bf16=True)
    changed = (fp32.int() - bf16.int()).abs()
    assert changed.max() > 0, "autocast did not reach the model: bf16 sampling gave fp32's images"
    assert changed.float().mean() < 1.0  # uint8 levels: rounding, not drift
    x, y = diffusion.to_model_range(fp32), diffusion.to_model_range(bf16)
    for k in range(2):
        assert y[labels == k].mean().item() == pytest.approx(x[labels == k].mean().item(), abs=0.005)
        assert y[labels == k].std().item() == pytest.approx(x[labels == k].std().item(), rel=0.02)


def test_the_solver_gets_the_prediction_in_fp32_under_bf16(make_cfg, monkeypatch):
    """The solver's update (x_t → x_{t-1}, its multistep history) stays fp32: bf16 there would round the image
    itself at every step."""
    seen = []
    original = DPMSolverMultistepScheduler.step

    def recording_step(self, model_output, timestep, sample, *args, **kwargs):
        seen.append((model_output.dtype, sample.dtype))
        return original(self, model_output, timestep, sample, *args, **kwargs)

    monkeypatch.setattr(DPMSolverMultistepScheduler, "step", recording_step)
    sample_images(make_cfg, "dpm_solver_sde", "epsilon", 5, model_type=ExactModelThroughAConvolution, bf16=True)
    assert seen and set(seen) == {(torch.float32, torch.float32)}
