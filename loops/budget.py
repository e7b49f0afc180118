"""Sizing a run to its time budget: how many steps fit, from the throughput of its first steps.

The learning-rate schedule decays at fractions of the planned steps, so a run whose budget
binds still finishes its schedule instead of being cut off before its decays.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class StepBudget:
    """Plans the number of steps a time budget allows.

    Call `update(step, seconds)` after each loop with the steps done so far and the seconds
    since training started. The first loop is not timed (it traces and compiles); from the
    second on, the plan is refitted until the run has done `refit_until` of it. After that it
    is settled: it no longer grows, so that the decay points stay put, but it still shrinks if
    the machine slows down so much that the plan would not fit, so that the schedule still
    finishes within the budget.
    """
    max_steps: int
    budget_seconds: float
    # Share of the remaining budget planned for: the rest absorbs checkpoints, summaries
    # and a slower stretch.
    margin: float = 0.95
    refit_until: float = 0.25
    planned: int = dataclasses.field(init=False)
    steps_per_second: float = dataclasses.field(init=False, default=0.0)
    settled: bool = dataclasses.field(init=False, default=False)
    _timed_from: tuple[int, float] | None = dataclasses.field(init=False, default=None)

    def __post_init__(self):
        self.planned = self.max_steps
        self.settled = self.budget_seconds <= 0

    def update(self, step: int, seconds: float) -> bool:
        """Refits the plan; True when this call fitted it (for the first time or anew)."""
        if self.budget_seconds <= 0:
            return False
        if self._timed_from is None:
            self._timed_from = (step, seconds)
            return False
        first_step, first_seconds = self._timed_from
        if step <= first_step or seconds <= first_seconds:
            return False
        self.steps_per_second = (step - first_step) / (seconds - first_seconds)
        remaining = max(self.budget_seconds - seconds, 0.0)
        reachable = max(step, min(self.max_steps,
                                  step + int(self.steps_per_second * remaining * self.margin)))
        if self.settled:
            if reachable >= self.planned:
                return False
            self.planned = reachable
            return True
        self.planned = reachable
        self.settled = step >= self.refit_until * self.planned
        return True
