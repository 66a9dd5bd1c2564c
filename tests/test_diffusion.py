"""The diffusers model at tiny size: building, EMA that moves, sampling with both schedulers."""

import math

import pytest
import torch

from lab import diffusion
from lab.draws import Draws
from lab.loops import REAL, TrainingSet
from lab.samplers import build_sampler
from lab.seeding import generator
from lab.train import train_generation


@pytest.fixture
def cfg(make_cfg):
    return make_cfg("model=tiny", "train.images=256", "train.batch_size=32", "train.warmup_images=32", "progress=false")


def tiny_set(n=64, conditional=True):
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.arange(n) % 10 if conditional else torch.full((n,), -1)
    return TrainingSet(images, labels, torch.full((n,), REAL), torch.arange(n))


@pytest.mark.parametrize("preset", ["tiny", "cpu", "gpu_small", "gpu_large"])
def test_presets_build(make_cfg, preset):
    cfg = make_cfg(f"model={preset}")
    unet = diffusion.build_unet(cfg.model, 16, 1, 10)
    assert unet.config.num_class_embeds == 11  # 10 classes + the "no label" token
    x = torch.zeros(2, 1, 16, 16)
    assert unet(x, torch.tensor([5, 7]), class_labels=torch.tensor([0, 10])).sample.shape == x.shape


def test_cpu_preset_size(make_cfg):
    unet = diffusion.build_unet(make_cfg().model, 16, 1, 10)
    assert 0.5e6 < sum(p.numel() for p in unet.parameters()) < 1.5e6


def test_ema_moves_in_a_short_run(cfg):
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    initial = [p.detach().clone() for p in unet.parameters()]
    result = train_generation(
        unet, diffusion.build_train_scheduler(cfg.train), tiny_set(), cfg.train, torch.device("cpu"), generator(0, 0, "train"), progress=False
    )
    ema = [p.detach() for p in result.ema_model.parameters()]
    raw = [p.detach() for p in result.model.parameters()]
    moved = sum(float((e - i).abs().sum()) for e, i in zip(ema, initial))
    gap = sum(float((e - r).abs().sum()) for e, r in zip(ema, raw))
    travelled = sum(float((r - i).abs().sum()) for r, i in zip(raw, initial))
    assert result.images_seen == 256
    # The average has left the initial weights by a good share of the way the raw weights went …
    assert moved > 0.3 * travelled
    # … and is still an average, not a copy of the raw weights.
    assert gap > 0


def test_training_is_reproducible(cfg):
    def once():
        torch.manual_seed(0)
        unet = diffusion.build_unet(cfg.model, 8, 1, 10)
        r = train_generation(
            unet, diffusion.build_train_scheduler(cfg.train), tiny_set(), cfg.train, torch.device("cpu"), generator(0, 0, "train"), progress=False
        )
        return r.loss, next(r.ema_model.parameters()).detach().clone()

    (loss_a, w_a), (loss_b, w_b) = once(), once()
    assert loss_a == loss_b and torch.equal(w_a, w_b)


@pytest.mark.parametrize("sampler_name", ["ddim", "dpm_solver", "dpm_solver_sde"])
@pytest.mark.parametrize("guidance", [0.0, 1.0])
def test_sampling(make_cfg, sampler_name, guidance):
    cfg = make_cfg("model=tiny", f"sampler={sampler_name}")
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    sampler = build_sampler(cfg.sampler, diffusion.build_train_scheduler(cfg.train))
    labels = torch.arange(12) % 10

    def draw(seed):
        return diffusion.sample(unet, sampler, labels, 3, guidance, 5, generator(seed, 0, "sample"), torch.device("cpu"), progress=False)

    images = draw(0)
    assert images.shape == (12, 1, 8, 8) and images.dtype == torch.uint8
    assert torch.equal(images, draw(0))  # same seed, same images (DPM-Solver state is reset)
    assert not torch.equal(images, draw(1))


def test_guidance_changes_the_samples(make_cfg):
    cfg = make_cfg("model=tiny")
    torch.manual_seed(0)
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    # A freshly built UNet ignores the class embedding only by chance: perturb it so it matters.
    with torch.no_grad():
        unet.class_embedding.weight.normal_(0, 1)
    sampler = build_sampler(cfg.sampler, diffusion.build_train_scheduler(cfg.train))
    labels = torch.arange(10)
    a = diffusion.sample(unet, sampler, labels, 3, 0.0, 10, generator(0, 0, "s"), torch.device("cpu"), progress=False)
    b = diffusion.sample(unet, sampler, labels, 3, 2.0, 10, generator(0, 0, "s"), torch.device("cpu"), progress=False)
    assert not torch.equal(a, b)


def test_unconditional_model(make_cfg):
    cfg = make_cfg("model=tiny", "model.conditional=false", "train.images=64", "train.batch_size=32", "progress=false")
    unet = diffusion.build_unet(cfg.model, 8, 1, 10)
    assert not diffusion.is_conditional(unet)
    result = train_generation(
        unet, diffusion.build_train_scheduler(cfg.train), tiny_set(conditional=False), cfg.train, torch.device("cpu"), generator(0, 0, "t"), progress=False
    )
    sampler = build_sampler(cfg.sampler, diffusion.build_train_scheduler(cfg.train))
    out = diffusion.sample(result.ema_model, sampler, torch.full((4,), -1), 2, 0.0, 4, generator(0, 0, "s"), torch.device("cpu"), progress=False)
    assert out.shape == (4, 1, 8, 8)


@pytest.mark.parametrize("kind", ["epsilon", "v_prediction", "sample"])
def test_training_target_follows_the_prediction_type(make_cfg, kind):
    from lab.train import _target

    cfg = make_cfg(f"train.prediction_type={kind}")
    scheduler = diffusion.build_train_scheduler(cfg.train)
    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    t = torch.tensor([10, 500, 990])
    alpha_bar = scheduler.alphas_cumprod[t].view(-1, 1, 1, 1)
    expected = {"epsilon": noise, "sample": x0, "v_prediction": alpha_bar.sqrt() * noise - (1 - alpha_bar).sqrt() * x0}[kind]
    assert torch.allclose(_target(scheduler, x0, noise, t), expected, atol=1e-6)


def host_draws() -> Draws:
    return Draws(torch.Generator().manual_seed(0), torch.device("cpu"), on_device=False)


def test_uniform_timesteps_cover_every_level_alike():
    t = host_draws().timesteps("uniform", 1000, 100_000)
    assert t.min() == 0 and t.max() == 999
    assert abs((t < 500).float().mean().item() - 0.5) < 0.01


def test_logit_normal_timesteps_follow_the_sigmoid_of_a_standard_normal():
    t = host_draws().timesteps("logit_normal", 1000, 100_000)
    assert 0 <= t.min() and t.max() <= 999 and t.dtype == torch.long
    # P(T/4 ≤ t < 3T/4) = P(|z| < logit(3/4) = ln 3) = erf(ln 3 / √2) = 0.7275 (uniform: 0.5).
    middle = ((t >= 250) & (t < 750)).float().mean().item()
    assert abs(middle - math.erf(math.log(3) / math.sqrt(2))) < 0.01
    assert abs((t < 500).float().mean().item() - 0.5) < 0.01  # symmetric about T/2


def test_min_snr_weight_caps_the_signal_to_noise_ratio(make_cfg):
    from lab.train import _loss_weight

    scheduler = diffusion.build_train_scheduler(make_cfg().train)
    t = torch.tensor([5, 200, 500, 900])
    alpha_bar = scheduler.alphas_cumprod[t]
    snr = alpha_bar / (1 - alpha_bar)
    # ε-prediction: min(SNR, γ)/SNR — 1 where SNR ≤ γ (noisy levels), γ/SNR where the image is nearly clean.
    expected = torch.where(snr <= 5.0, torch.ones_like(snr), 5.0 / snr)
    assert torch.allclose(_loss_weight(scheduler, t, 5.0), expected)
    assert _loss_weight(scheduler, t, 5.0)[0] < 0.01 and _loss_weight(scheduler, t, 5.0)[-1] == 1.0
    assert _loss_weight(scheduler, t, None) == 1.0
