"""sampler=dpm_solver_sde: SDE-DPM-Solver++ (2nd order, multistep, stochastic), the lab's default sampler: fresh
noise at every step corrects the errors a short-trained model's deterministic samplers integrate
(docs/results/2026-11-29-samplers.md)."""

from lab.samplers.dpm_solver import DPMSolver, DPMSolverConfig


class DPMSolverSDE(DPMSolver):
    name = "dpm_solver_sde"
    Config = DPMSolverConfig
    algorithm = "sde-dpmsolver++"
