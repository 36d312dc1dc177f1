"""Read ahead in a survey: each worker opens its next image while it scans the current one.

Use :func:`task_ahead` on the client to reserve, for a task, the job its worker will run next, and
:func:`start_read_ahead` on the worker once the current image is open: the next image's headers,
label and screen level's packets (read by the packet), or its whole download, come in the
background while the current one decodes and runs the models (:mod:`areoscan.io.remote_ahead`).
The engine then submits the reserved job to the same worker (:func:`worker_address`), whose scan
finds it open. One image ahead per worker: bytes in flight stay bounded by one screen level (one
whole file when reading whole).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from areoscan.survey.engine import SurveyOptions

TASK_KEYS = ("observation_id", "url", "remote", "max_bytes")


def task_ahead(job: dict[str, Any], queue: list[dict[str, Any]],
               last: dict[str, Any] | None) -> dict[str, Any] | None:  # fmt: skip
    """Pop (and return, as the task's ``ahead``) the next queued job when ``job`` and it are
    remote; with the screen level and scale of ``last`` (the worker's previous result), so that the
    read ahead fetches that level's packets too."""
    if not (job.get("remote") and queue and queue[0].get("remote")):
        return None
    job_ahead = queue.pop(0)
    ahead = {k: job_ahead[k] for k in TASK_KEYS}
    levels = ((last or {}).get("summary") or {}).get("levels") or {}
    screen = levels.get("screen") if isinstance(levels, dict) else None
    if isinstance(screen, dict) and screen.get("level") is not None and last:
        ahead.update(level=int(screen["level"]), scale=last.get("scale"))
    return ahead


def start_read_ahead(ahead: dict[str, Any], folder: Path, options: SurveyOptions) -> None:
    """Open the job ``ahead`` into ``folder`` (its download folder) in the background."""
    from areoscan.io.remote import open_remote
    from areoscan.io.remote_ahead import read_ahead

    url = str(ahead["url"])

    def open_fn() -> Any:
        return open_remote(url, folder, label=True, partial=options.partial,
                           retries=options.fetch_retries, timeout=options.fetch_timeout,
                           max_bytes=ahead.get("max_bytes"))  # fmt: skip

    read_ahead(url, folder, open_fn, ahead.get("level"), ahead.get("scale"))


def worker_address() -> str | None:
    """The dask worker running this task (None outside a worker): the next task goes there."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return None
