"""Live progress: bars on a terminal, silence elsewhere — one home for scan, survey, train, classify.

Use :func:`progress_bar` wherever a loop runs long enough to wonder about (tiles of a scan stage,
images of a survey, batches of an epoch, tiles to classify). A bar shows the stage (``desc``),
the count done of the total in ``unit``, the rate and the ETA, on stderr. It draws nothing when
``enabled`` is False (the verbs' ``--quiet``) or when stderr is not a terminal (a log file, a
pipe, a batch job, a notebook's captured output), so logs stay free of carriage-return noise.
Lines printed while a bar is up go through :meth:`Bar.write` so they do not break it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import IO, Any


def on_terminal(stream: IO[str] | None = None) -> bool:
    """True when ``stream`` (default stderr) is an interactive terminal."""
    stream = stream if stream is not None else sys.stderr
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


class Bar:
    """A tqdm bar, or nothing at all when disabled (see the module docstring)."""

    def __init__(
        self,
        iterable: Iterable[Any] | None = None,
        *,
        total: int | None = None,
        desc: str = "",
        unit: str = "it",
        enabled: bool = True,
        leave: bool = False,
        stream: IO[str] | None = None,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.shown = enabled and on_terminal(self.stream)
        self._iterable = iterable
        self._bar: Any = None
        if self.shown:
            from tqdm import tqdm

            self._bar = tqdm(
                iterable,
                total=total,
                desc=desc,
                unit=unit,
                leave=leave,
                file=self.stream,
                dynamic_ncols=True,
            )

    def __iter__(self) -> Iterator[Any]:
        source = self._bar if self._bar is not None else self._iterable
        if source is None:
            raise TypeError("this bar was made without an iterable")
        yield from source

    def update(self, n: int = 1) -> None:
        """Count ``n`` more units done."""
        if self._bar is not None:
            self._bar.update(n)

    def write(self, line: str) -> None:
        """Print a line on the bar's stream without breaking the bar."""
        if self._bar is not None:
            self._bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()

    def __enter__(self) -> Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


progress_bar = Bar
"""A progress bar over an iterable (or updated by hand with ``total``); see :class:`Bar`."""
