"""One way to start a W&B run: the chain's metrics run (lab/tracking.py) and its lineage runs (lab/lineage.py) share
the project, entity and tags of tracking=, the run directory's wandb/, the mode, and an id the lab chooses and
resumes."""

from dataclasses import dataclass


@dataclass(frozen=True)
class RunLabels:
    """How W&B shows a chain: its name, its sweep's group, its job type (the loop) and the id the lab chose."""

    name: str
    group: str | None
    job_type: str
    id: str | None = None


def start_run(tracking_cfg, run_dir, mode: str, labels: RunLabels, config: dict, **extra):
    import wandb

    return wandb.init(
        project=tracking_cfg.project,
        entity=tracking_cfg.entity,
        group=labels.group,
        job_type=labels.job_type,
        name=labels.name,
        tags=list(tracking_cfg.tags),
        config=config,
        dir=str(run_dir.path),
        mode=mode,
        id=labels.id,
        resume="allow",
        **extra,
    )
