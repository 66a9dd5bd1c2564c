"""A sweep previewed: `python -m lab -m … --cfg job` lists every job Hydra's sweeper would launch, with its seed and
condition, after the lab's own checks have passed on each, and matches the declared claims to the jobs. It writes
nothing: a multirun cannot print its configs through Hydra (one --cfg per job would be a wall of YAML), and a sweep
whose claim names no job of it would only stop at the report, hours later.
"""

import json
from collections import Counter, defaultdict

from omegaconf import DictConfig

from lab.claims import same_setting
from lab.conf import SCHEDULE, comparable, is_scale, science_overrides, setting_text
from lab.loops import effective_real_fraction
from lab.schedule import regimes

CONTROL = "real_only"  # the report's default control: the one real_only condition without a loop.schedule


def _text(settings: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in settings.items())


def chain_key(cfg: DictConfig) -> str:
    """What a chain computes: every setting that changes the science, with the real share and the schedule read as
    the regime each generation runs (a loop with its own share ignores loop.real_fraction)."""
    settings = {k: v for k, v in comparable(cfg).items() if k not in ("loop.real_fraction", SCHEDULE)}
    plan = [(r.loop, r.real_fraction) for r in regimes(cfg.loop)]
    if all(share == 1.0 for _, share in plan):  # no generation trains on a sample: a sample's weight changes nothing
        settings.pop("train.synthetic_weight", None)
    return json.dumps([sorted(settings.items()), plan], default=str)


def repeats(configs: list[DictConfig]) -> dict[int, int]:
    """job → the job of the same sweep that runs the same chain. A grid crosses every loop with every value of a swept
    setting, those a loop ignores too (loop=real_only,mixed × loop.real_fraction=0.1,0.5,0.9 asks for the control
    three times; a sample's weight, train.synthetic_weight, where no generation trains on a sample): each chain runs
    once, in the job whose command line says it plainest (no schedule, the loop's own share, weight 1), else the
    first; two runs of one chain and seed would stop the report."""
    groups = defaultdict(list)
    for n, cfg in enumerate(configs):
        groups[chain_key(cfg)].append(n)
    out = {}
    for members in groups.values():
        keep = next((n for n in members if _plain(configs[n])), members[0])
        out |= {n: keep for n in members if n != keep}
    return out


def _plain(cfg: DictConfig) -> bool:
    loop = cfg.loop
    unweighted = float(cfg.train.synthetic_weight) == 1.0
    return unweighted and not loop.get("schedule") and float(loop.real_fraction) == effective_real_fraction(loop.name, loop.real_fraction)


def unreached_claims(configs: list[DictConfig]) -> list[str]:
    """The declared claims that name a condition no job runs (a claim against the control needs a real_only job
    without a schedule, and where those run at several sizes, one of its condition's own size): a sweep may be a part
    of the preset's, but its report will stop on these."""
    problems = []
    repeated = repeats(configs)  # a control asked for twice runs once: the report sees the one that ran
    controls = [c for n, c in enumerate(configs) if n not in repeated and c.loop.name == CONTROL and not c.loop.get("schedule")]
    for claim in configs[0].get("claims") or []:
        for side in (claim.condition, claim.against):
            if side is None and not controls:
                problems.append(f"claim {claim.name} is against the control, and no job runs loop={CONTROL} without a schedule")
            elif side is None:
                problems += _unmatched_control(claim, [c for c in configs if _runs(c, claim.condition)], controls)
            elif not any(_runs(c, side) for c in configs):
                problems.append(f"claim {claim.name}: no job has {_text(dict(side))}")
            elif len(found := {_condition(c) for c in configs if _runs(c, side)}) > 1:
                problems.append(f"claim {claim.name}: {_text(dict(side))} matches {len(found)} conditions; name the setting that tells them apart")
    return problems


def _condition(cfg: DictConfig) -> str:
    """The chain a job runs, its seed aside: the condition the report will name it by."""
    settings, plan = json.loads(chain_key(cfg))
    return json.dumps([[kv for kv in settings if kv[0] != "seed"], plan])


def _runs(cfg: DictConfig, side) -> bool:
    return all(same_setting(setting_text(cfg, k), v) for k, v in side.items())


def _unmatched_control(claim, condition: list[DictConfig], controls: list[DictConfig]) -> list[str]:
    """Where the control runs at several values of a scale of the experiment, the report measures each condition
    against the control of its own values (lab.views.report_verdict.matched_controls): the claim's condition needs
    its own. Controls apart in another setting (run under a remedy) are no one control: the report needs --control."""
    ignored = ("seed", "loop.real_fraction", SCHEDULE)  # seeds form the band; the control ignores its share
    settings = [{k: str(v) for k, v in comparable(c).items() if k not in ignored} for c in controls]
    differ = sorted({k for s in settings for k in s if len({t.get(k) for t in settings}) > 1})
    if not differ or not condition:
        return []
    if not all(map(is_scale, differ)):
        return [f"claim {claim.name} is against the control, and the jobs run loop={CONTROL} at several {', '.join(differ)}: its report needs --control"]
    sizes = {tuple((k, str(comparable(c).get(k))) for k in differ) for c in condition}  # each size the claim's jobs run
    unmatched = [dict(own) for own in sizes if not any(all(s.get(k) == v for k, v in own) for s in settings)]
    return sorted(f"claim {claim.name} is against the control, and no job runs loop={CONTROL} at its condition's {_text(own)}" for own in unmatched)


def describe(jobs: list[list[str]], configs: list[DictConfig], sweep_dir: str) -> str:
    """The preview's text: one line per job, then what the jobs make together."""
    # A job's condition: the settings of its command line that change the science, the seed aside; those every job
    # shares are said once.
    named = [science_overrides(job) for job in jobs]
    for settings, cfg in zip(named, configs, strict=True):  # a loop with its own share: that share, as the report names it
        if "loop.real_fraction" in settings:
            settings["loop.real_fraction"] = str(effective_real_fraction(cfg.loop.name, cfg.loop.real_fraction))
    shared = {k: v for k, v in named[0].items() if all(n.get(k) == v for n in named)}
    labels = [_text({k: v for k, v in n.items() if k not in shared}) or "(one condition)" for n in named]
    seeds = [int(c.seed) for c in configs]
    repeated = repeats(configs)
    labels = [f"{label}   (the chain of job {repeated[n]}: not run again)" if n in repeated else label for n, label in enumerate(labels)]
    per_condition = Counter(label for n, label in enumerate(labels) if n not in repeated)
    width = max(len(str(len(jobs) - 1)), 3)
    lines = [f"every job: {_text(shared)}"] if shared else []
    lines += [f"{'job':>{width}}  seed  condition"]
    lines += [f"{n:>{width}}  {seed:>4}  {label}" for n, (seed, label) in enumerate(zip(seeds, labels, strict=True))]
    counts = sorted(set(per_condition.values()))
    seeds_text = f"{counts[0]} seed{'s' if counts[0] > 1 else ''}" if len(counts) == 1 else f"{counts[0]}–{counts[-1]} seeds each"
    shape = f"{len(per_condition)} condition{'s' if len(per_condition) > 1 else ''} × {seeds_text}"
    runs = f"{len(jobs)} jobs" if not repeated else f"{len(jobs)} jobs, {len(jobs) - len(repeated)} chains"
    lines.append(f"{runs} ({shape}), into {sweep_dir}/<job>; every job passes the lab's checks; nothing was written")
    claims = configs[0].get("claims") or []
    problems = unreached_claims(configs)
    if claims:
        looks = list(configs[0].get("looks") or [])
        read = f"; read at {looks} seeds" if looks else ""
        reach = ", each naming a condition of this sweep"
        if problems:
            reach = f"; {len(problems)} name a condition this sweep lacks, and its report will stop on them"
        lines.append(f"{len(claims)} declared claims ({'; '.join(c.name for c in claims)}){reach}{read}")
        lines += [f"  note: {p}" for p in problems]
    return "\n".join(lines)
