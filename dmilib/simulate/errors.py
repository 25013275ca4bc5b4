"""Errors raised by the solvers."""

from __future__ import annotations


class ConvergenceError(RuntimeError):
    """A minimizer or integrator could not reach its tolerance.

    Attributes
    ----------
    step : int
        Iteration (minimizer) or step (integrator) at which it gave up.
    residual : float
        The quantity compared with the tolerance (max torque in tesla, or the local error).
    tolerance : float
        The tolerance asked for.
    reason : str
        ``"nan"``, ``"diverged"``, ``"stalled"`` or ``"max_iterations"``.
    system : int or None
        Index within the batch of the system that failed, when it is one system.
    """

    def __init__(self, solver: str, reason: str, step: int, residual: float, tolerance: float, system: int | None = None):
        self.solver, self.reason, self.step = solver, reason, step
        self.residual, self.tolerance, self.system = residual, tolerance, system
        where = "" if system is None else f" (system {system} of the batch)"
        super().__init__(
            f"{solver} failed ({reason}) at step {step}{where}: residual {residual:.4g} vs tolerance {tolerance:.4g}"
        )
