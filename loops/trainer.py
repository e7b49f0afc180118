"""A training job: the runtime set up, a `TrainRunner` built under its strategy, and a
`Controller` that runs it (orbit's split: the runner trains n steps, the controller owns
the cadences)."""

from __future__ import annotations

from loops import strategies
from loops.config import TrainConfig
from loops.controller import Controller
from loops.runner import TrainRunner


class Trainer:
    """`Trainer(config).train()` trains, resuming from config.model_dir when it can."""

    def __init__(self, config: TrainConfig):
        self.config = config
        strategy = strategies.set_up_runtime(config.runtime, config.deterministic)
        self.runner = TrainRunner(config, strategy)
        self.controller = Controller(config, self.runner)

    @property
    def chief(self) -> bool:
        return self.controller.chief

    def train(self) -> dict:
        return self.controller.train()
