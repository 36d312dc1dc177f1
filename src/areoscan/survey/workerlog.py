"""Keep dask's shutdown noise out of the user's terminal.

Use when areoscan starts its own LocalCluster: its worker processes write their logs to the
terminal the survey runs in. When the survey is interrupted or ends, the in-process scheduler can
close a moment before a worker does; that worker's next heartbeat then fails and distributed logs
it with a full traceback, although nothing went wrong. The plugin below keeps that message to one
line in every worker. A cluster the user gives (``--scheduler``) keeps its own logging.
"""

from __future__ import annotations

import logging
from typing import Any

from distributed import WorkerPlugin

#: distributed.worker's message when a heartbeat cannot reach the scheduler (it closed first).
HEARTBEAT_FAILED = "Failed to communicate with scheduler during heartbeat"


class OneLineHeartbeat(logging.Filter):
    """Drops the traceback of a failed heartbeat; the message itself stays (one line)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage().startswith(HEARTBEAT_FAILED):
            record.exc_info = None
            record.exc_text = None
        return True


class QuietShutdown(WorkerPlugin):  # type: ignore[misc]
    """Installs :class:`OneLineHeartbeat` on ``distributed.worker`` in each worker process."""

    name = "areoscan-quiet-shutdown"

    def setup(self, worker: Any) -> None:
        logger = logging.getLogger("distributed.worker")
        if not any(isinstance(f, OneLineHeartbeat) for f in logger.filters):
            logger.addFilter(OneLineHeartbeat())
