"""What the project adds to the trainer's loop, each as a small ``TrainerCallback``."""

from __future__ import annotations

import time

from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments


class CheckpointImprovements(TrainerCallback):
    """Checkpoint every dev-loss improvement, so the best weights are on disk at the end.

    The trainer restores the best *checkpoint*; an improvement measured between two regular
    checkpoints would otherwise be lost.
    """

    def on_evaluate(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        metrics: dict[str, float] | None = None,
        **kwargs: object,
    ) -> None:
        loss = (metrics or {}).get("eval_loss")
        if loss is None or state.global_step == 0:
            return
        if state.best_metric is None or loss < state.best_metric:
            control.should_save = True


class RecordResume(TrainerCallback):
    """Note in the log history the step a resumed run starts from (saved with each checkpoint)."""

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: object,
    ) -> None:
        if state.global_step > 0:
            state.log_history.append(
                {"step": state.global_step, "resumed_from_step": state.global_step}
            )


class StepClock(TrainerCallback):
    """Wall time of the optimizer steps alone (no evaluation, no checkpoint), for samples/s."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self.steps = 0
        self._started = 0.0

    def on_step_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: object,
    ) -> None:
        self._started = time.perf_counter()

    def on_step_end(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        **kwargs: object,
    ) -> None:
        self.seconds += time.perf_counter() - self._started
        self.steps += 1
