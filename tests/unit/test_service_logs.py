"""Structured log lines carry the job id of the task that logs them."""

from __future__ import annotations

import asyncio
import json
import logging

from orchestrator.service.logs import JsonFormatter, TextFormatter, _JobIdFilter, job_id_var


def records_of(work: object) -> list[logging.LogRecord]:
    captured: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            captured.append(record)

    logger = logging.getLogger("snapclip.test-logs")
    handler = Keep()
    handler.addFilter(_JobIdFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        asyncio.run(work(logger))
    finally:
        logger.removeHandler(handler)
    return captured


def test_each_job_task_logs_its_own_id():
    async def work(logger: logging.Logger) -> None:
        async def job(job_id: str) -> None:
            job_id_var.set(job_id)
            await asyncio.sleep(0)
            logger.info("stage %s", "asr", extra={"stage": "asr"})
            await asyncio.to_thread(logger.info, "in a thread")

        await asyncio.gather(job("a1"), job("b2"))
        logger.info("no job")

    lines = [json.loads(JsonFormatter().format(r)) for r in records_of(work)]
    by_job: dict[object, list[str]] = {}
    for line in lines:
        by_job.setdefault(line.get("job_id"), []).append(line["message"])
    assert by_job == {"a1": ["stage asr", "in a thread"], "b2": ["stage asr", "in a thread"],
                      None: ["no job"]}
    first = lines[0]
    assert first["level"] == "info" and first["logger"] == "snapclip.test-logs"
    assert first["stage"] == "asr" and first["ts"].endswith("+00:00")


def test_text_lines_name_the_job():
    async def work(logger: logging.Logger) -> None:
        job_id_var.set("c3")
        logger.warning("failed: %s", "no audio", extra={"seconds": 1.5})

    line = TextFormatter().format(records_of(work)[0])
    assert "WARNING" in line and "[c3]" in line and "failed: no audio seconds=1.5" in line
