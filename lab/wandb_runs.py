"""One way to start a W&B run: the chain's metrics run (lab/tracking.py) and its lineage runs (lab/lineage.py) share
the project, entity and tags of tracking=, the run directory's wandb/, the mode, and an id the lab chooses and
resumes."""


def start_run(tracking_cfg, run_dir, mode: str, run_id: str | None, *, group, job_type: str, name: str, config: dict, **extra):
    import wandb

    return wandb.init(
        project=tracking_cfg.project,
        entity=tracking_cfg.entity,
        group=group,
        job_type=job_type,
        name=name,
        tags=list(tracking_cfg.tags),
        config=config,
        dir=str(run_dir.path),
        mode=mode,
        id=run_id,
        resume="allow",
        **extra,
    )
