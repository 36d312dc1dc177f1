"""The failed-heartbeat message of a worker at shutdown stays one line (no traceback)."""

from __future__ import annotations

import io
import logging

from areoscan.survey.workerlog import HEARTBEAT_FAILED, OneLineHeartbeat, QuietShutdown


def _emit(logger: logging.Logger, msg: str) -> str:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    try:
        try:
            raise OSError("Stream is closed")
        except OSError:
            logger.exception(msg)
    finally:
        logger.removeHandler(handler)
    return out.getvalue()


def test_heartbeat_failure_is_one_line_and_other_errors_keep_their_traceback():
    logger = logging.getLogger("areoscan.test.workerlog")
    logger.propagate = False
    logger.addFilter(OneLineHeartbeat())
    text = _emit(logger, HEARTBEAT_FAILED + ".")
    assert text.strip() == HEARTBEAT_FAILED + "." and "Traceback" not in text
    other = _emit(logger, "Compute Failed")
    assert "Traceback" in other and "OSError: Stream is closed" in other


def test_plugin_installs_the_filter_once():
    logger = logging.getLogger("distributed.worker")
    before = list(logger.filters)
    try:
        QuietShutdown().setup(worker=None)
        QuietShutdown().setup(worker=None)
        added = [f for f in logger.filters if isinstance(f, OneLineHeartbeat)]
        assert len(added) == 1
        assert "Traceback" not in _emit(logger, HEARTBEAT_FAILED + ".")
    finally:
        logger.filters[:] = before
