"""The generation loop: compose → train → sample → evaluate → track → save, once per generation.

A run directory holds everything about one run:
    config.yaml, overrides.yaml   the resolved config and the command-line overrides
    metrics.jsonl                 one JSON object per generation (same keys as the W&B history)
    reference.json                the feature classifier and the real-data baseline of every metric
    samples/gen_###.png           a sample grid per generation
    generations/gen_###.pt        each generation's samples (uint8) with the provenance of its training set
    checkpoints/gen_###/          the UNet (raw and EMA weights); loop.keep=last keeps only the newest
    state.json                    the last completed generation (written atomically)
    wandb/                        the W&B run (offline runs sync later with `wandb sync`)
"""

import json
import logging
import os
import shutil
import time
from pathlib import Path

import torch
from omegaconf import DictConfig, OmegaConf

from lab import diffusion, loops
from lab.config import check_against_data, check_settings, resolve_device
from lab.data import RealData, load_real_data
from lab.errors import LabError
from lab.metrics import Evaluator
from lab.seeding import derive_seed, generator
from lab.tracking import Tracker, sample_grid
from lab.train import train_generation

log = logging.getLogger("lab")


def prepare(cfg: DictConfig) -> RealData:
    """Every check that can fail on bad input, and the data those checks need; writes nothing."""
    check_settings(cfg)
    real = load_real_data(cfg.data)
    check_against_data(cfg, real)
    return real


def run_experiment(cfg: DictConfig, run_dir, overrides=(), group: str | None = None, name: str | None = None) -> list[dict]:
    """Run one chain of generations into `run_dir`; returns the metrics rows."""
    real = prepare(cfg)
    run_dir = Path(run_dir)
    if (run_dir / "metrics.jsonl").exists() or (run_dir / "state.json").exists():
        raise LabError(f"run_dir={run_dir} already holds a run; runs are never overwritten: choose another run_dir")
    if cfg.threads:
        torch.set_num_threads(int(cfg.threads))
    device = resolve_device(cfg.device)
    # Built before the run directory: it can still stop on bad input (e.g. Inception weights missing).
    # The classifier it trains goes to the shared cache, not the run directory.
    evaluator = Evaluator(real, cfg.metrics, cfg.data, cfg.cache_dir, device, bool(cfg.progress))
    run_dir.mkdir(parents=True, exist_ok=True)
    OmegaConf.save(cfg, run_dir / "config.yaml", resolve=True)
    OmegaConf.save(OmegaConf.create(list(overrides)), run_dir / "overrides.yaml")
    handler = logging.FileHandler(run_dir / "lab.log")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"))
    logging.getLogger().addHandler(handler)
    try:
        return _run(cfg, real, evaluator, device, run_dir, group, name or run_dir.name)
    finally:
        logging.getLogger().removeHandler(handler)
        handler.close()


def _run(cfg: DictConfig, real: RealData, evaluator: Evaluator, device, run_dir: Path, group, name) -> list[dict]:
    # A reused worker (joblib launcher) must not carry global random state from an earlier job.
    torch.manual_seed(derive_seed(cfg.seed, -1, "global"))
    progress = bool(cfg.progress)
    loop = cfg.loop
    if loop.name == "fully_synthetic" and loop.real_fraction != 0:
        log.warning("loop=fully_synthetic uses no real data after generation 0: loop.real_fraction=%s is ignored", loop.real_fraction)
    log.info("run %s: data=%s (%d pool / %d held out), loop=%s, device=%s", name, real.name,
             len(real.train_labels), len(real.heldout_labels), loop.name, device)
    reference = {
        "classifier": evaluator.classifier_info,
        "real_baseline": {k: v for k, v in evaluator.baseline.items()},
        "num_samples": evaluator.num_samples,
    }
    (run_dir / "reference.json").write_text(json.dumps(reference, indent=2))
    tracker = Tracker(cfg.tracking, run_dir, OmegaConf.to_container(cfg, resolve=True), name, group, loop.name)
    tracker.summary({"reference/classifier_heldout_accuracy": evaluator.classifier_info["heldout_accuracy"]}
                    | {f"reference/real_{k}": v for k, v in evaluator.baseline.items() if k != "class_histogram"})

    train_scheduler = diffusion.build_train_scheduler(cfg.train)
    sampler = diffusion.build_sampler(cfg.sampler, train_scheduler)
    history: list[loops.Samples] = []
    rows, model = [], None
    try:
        for gen in range(int(loop.generations)):
            log.info("generation %d/%d", gen, int(loop.generations) - 1)
            data = loops.compose(loop.name, gen, real.train_images, real.train_labels, history,
                                 int(loop.train_size), float(loop.real_fraction), int(cfg.seed))
            if model is None or not cfg.train.warm_start:
                torch.manual_seed(derive_seed(cfg.seed, gen, "init"))
                model = diffusion.build_unet(cfg.model, int(cfg.data.resolution), int(cfg.data.channels), real.num_classes)
            trained = train_generation(model, train_scheduler, data, cfg.train, device,
                                       generator(cfg.seed, gen, "train"), progress)
            model = trained.model
            samples, sample_seconds = _sample(cfg, trained.ema_model, sampler, real, gen, device, progress)
            history.append(samples)
            _save_generation(run_dir, samples, data.provenance())
            scalars = _scalars(evaluator(samples.images), data, trained, sample_seconds, evaluator.fd_name)
            histogram = scalars.pop("metrics/class_histogram")
            grid = sample_grid(samples.images, samples.labels, real.num_classes)
            rows.append(tracker.log_generation(gen, scalars, histogram, grid))
            log.info("generation %d: %s=%.3f, classes present %.2f, unrecognised %.3f", gen, evaluator.fd_name,
                     scalars[f"metrics/{evaluator.fd_name}"], scalars["metrics/classes_present"],
                     scalars["metrics/unrecognised_share"])
            _save_checkpoint(run_dir, gen, trained, keep=loop.keep)
            _write_state(run_dir, {"completed_generations": gen + 1, "wandb_run_id": tracker.run_id})
    except BaseException:
        tracker.finish(exit_code=1)
        raise
    tracker.finish()
    return rows


def _sample(cfg, unet, sampler, real: RealData, gen: int, device, progress) -> tuple[loops.Samples, float]:
    n = int(cfg.loop.num_samples)
    if diffusion.is_conditional(unet):
        # Labels follow the real class shares, so a perfect generator would match the real histogram.
        labels = torch.multinomial(real.class_distribution.float(), n, replacement=True,
                                   generator=generator(cfg.seed, gen, "sample_labels"))
    else:
        labels = torch.full((n,), -1, dtype=torch.long)
    start = time.perf_counter()
    images = diffusion.sample(unet.to(device), sampler, labels, int(cfg.sampler.steps), float(cfg.sampler.guidance_scale),
                              int(cfg.sampler.batch_size), generator(cfg.seed, gen, "sample"), device,
                              eta=float(cfg.sampler.eta), progress=progress)
    return loops.Samples(gen, images, labels), time.perf_counter() - start


def _scalars(metrics: dict, data: loops.TrainingSet, trained, sample_seconds: float, fd_name: str) -> dict:
    provenance = data.provenance()
    out = {f"metrics/{k}": v for k, v in metrics.items()}
    out |= {
        "train/loss": trained.loss,
        "train/images_seen": trained.images_seen,
        "train/seconds": trained.seconds,
        "train/images_per_second": trained.images_seen / max(trained.seconds, 1e-9),
        "sample/seconds": sample_seconds,
        "data/train_size": len(data),
        "data/real_fraction": provenance["real"] / len(data),
    }
    out |= {f"provenance/{k}": v for k, v in provenance.items()}
    return out


def _atomic_save(obj, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _save_generation(run_dir: Path, samples: loops.Samples, provenance: dict) -> None:
    folder = run_dir / "generations"
    folder.mkdir(exist_ok=True)
    _atomic_save({"images": samples.images, "labels": samples.labels, "provenance": provenance},
                 folder / f"gen_{samples.generation:03d}.pt")


def _save_checkpoint(run_dir: Path, gen: int, trained, keep: str) -> None:
    root = run_dir / "checkpoints"
    final = root / f"gen_{gen:03d}"
    tmp = root / f".gen_{gen:03d}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    trained.model.save_pretrained(tmp / "unet")
    trained.ema_model.save_pretrained(tmp / "unet_ema")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)  # a checkpoint directory either exists whole or not at all
    if keep == "last":
        for old in root.glob("gen_*"):
            if old != final:
                shutil.rmtree(old)


def _write_state(run_dir: Path, state: dict) -> None:
    tmp = run_dir / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, run_dir / "state.json")
