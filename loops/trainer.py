"""A training job: the runtime set up, a `TrainRunner` built under its strategy, and a
`Controller` that runs it (orbit's split: the runner trains n steps, the controller owns
the cadences)."""

from __future__ import annotations

from loops import start_average, strategies
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
        """Trains; a run that ended without a stop request and started from other weights
        then also gets its average with them (`loops/start_average.py`), written by the
        chief after the distributed work is done, and scored on eval_data beside the run."""
        result = self.controller.train()
        config = self.config
        if self.chief and config.average_with_start and "stopped_by" not in result:
            folder = (start_average.current_average(config.model_dir, config.start_share)
                      or start_average.write_average(config.model_dir, config.start_share))
            if folder:
                result["average_with_start"] = folder
                if config.eval_data:  # what evaluate --model_dir will read of the run
                    result["eval_average_with_start"] = self.controller.evaluate_folder(
                        folder, result["step"])
        return result
