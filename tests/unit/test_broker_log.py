"""The broker's log: what FastStream reports that needs attention, and nothing an idle pull says."""

import logging

from structlog.testing import capture_logs

from pay.platform.broker.handling import QuietLogger
from pay.platform.broker.jetstream import IDLE_PULL_ENDED


def test_an_idle_pull_that_timed_out_is_no_failure_but_a_real_one_is_logged() -> None:
    logger = QuietLogger(unremarkable=IDLE_PULL_ENDED)
    with capture_logs() as logged:
        logger.log(logging.ERROR, "Task-7 raised an exception, retrying...", exc_info=TimeoutError())
        logger.log(logging.INFO, "message received")
        logger.log(logging.ERROR, "Task-8 raised an exception, retrying...", exc_info=RuntimeError("broken"))

    assert [entry["event"] for entry in logged] == ["Task-8 raised an exception, retrying..."]


def test_a_broker_without_idle_pulls_reports_a_timeout() -> None:
    with capture_logs() as logged:
        QuietLogger().log(logging.ERROR, "Task-9 raised an exception", exc_info=TimeoutError())

    assert [entry["event"] for entry in logged] == ["Task-9 raised an exception"]
