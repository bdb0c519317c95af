"""Rich progress bar for the training loop; silent unless asked for or stderr is a terminal."""

from __future__ import annotations

import sys
from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def progress_enabled(setting: bool | None) -> bool:
    """`setting` if given, else True only when stderr is an interactive terminal."""
    if setting is not None:
        return setting
    return sys.stderr.isatty()


class TrainingProgress:
    """Two bars on stderr: epochs, and batches of the current epoch with its running loss."""

    def __init__(self, enabled: bool, max_epochs: int, first_epoch: int = 1) -> None:
        self.enabled = enabled
        self._progress: Progress | None = None
        self._epochs: TaskID | None = None
        self._batches: TaskID | None = None
        if enabled:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[info]}"),
                TimeElapsedColumn(),
                TextColumn("eta"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._epochs = self._progress.add_task(
                "epochs", total=max_epochs, completed=first_epoch - 1, info=""
            )

    def __enter__(self) -> TrainingProgress:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start_epoch(self, epoch: int, total_batches: int | None) -> None:
        """Begin the batch bar of `epoch` (1-based)."""
        if self._progress is None:
            return
        if self._batches is not None:
            self._progress.remove_task(self._batches)
        self._batches = self._progress.add_task(
            f"epoch {epoch}", total=total_batches, info="loss -"
        )

    def batch_done(self, loss: float) -> None:
        """Advance the batch bar and show the running mean loss of the epoch."""
        if self._progress is not None and self._batches is not None:
            self._progress.update(self._batches, advance=1, info=f"loss {loss:.4g}")

    def epoch_done(self, train_loss: float, val_loss: float | None) -> None:
        """Advance the epoch bar and show the epoch's losses."""
        if self._progress is None or self._epochs is None:
            return
        info = f"train {train_loss:.4g}"
        if val_loss is not None:
            info += f" val {val_loss:.4g}"
        self._progress.update(self._epochs, advance=1, info=info)
