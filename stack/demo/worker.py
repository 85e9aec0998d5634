"""The worker's in-memory job queue and its consumers. POST /jobs answers 202 once the job is
queued; a consumer processes it later in a span that is a child of that request's span, so
the job belongs to the trace of the order that made it. The worker's faults act on jobs:
`latency_ms` slows every job (the queue backs up, its oldest job ages), `error_ratio` fails
jobs (worker_jobs_total{outcome="error"})."""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from dataclasses import dataclass, field

from opentelemetry.context import Context
from opentelemetry.trace import StatusCode

from .faults import FaultInjector
from .metrics import WorkerMetrics
from .telemetry import Telemetry

__all__ = ["Job", "JobQueue", "Processor"]

log = logging.getLogger("stack.demo.worker")


@dataclass(frozen=True)
class Job:
    id: int
    order_id: object
    enqueued: float  # time.monotonic()
    context: Context = field(compare=False)  # the trace context of the request that queued it


class JobQueue:
    """FIFO with a size limit and the age of its oldest waiting job."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._jobs: deque[Job] = deque()
        self._ready = asyncio.Semaphore(0)
        self._ids = itertools.count(1)

    def __len__(self) -> int:
        return len(self._jobs)

    def put(self, order_id: object, context: Context) -> Job | None:
        """The queued job, or None when the queue is full."""
        if len(self._jobs) >= self.limit:
            return None
        job = Job(next(self._ids), order_id, time.monotonic(), context)
        self._jobs.append(job)
        self._ready.release()
        return job

    async def get(self) -> Job:
        await self._ready.acquire()
        return self._jobs.popleft()

    def oldest_age(self) -> float:
        return time.monotonic() - self._jobs[0].enqueued if self._jobs else 0.0


class Processor:
    """Consumes the queue with a few concurrent consumers; each job takes a few milliseconds."""

    def __init__(
        self,
        queue: JobQueue,
        telemetry: Telemetry,
        faults: FaultInjector,
        metrics: WorkerMetrics,
        work_s: tuple[float, float] = (0.002, 0.01),
        rng: random.Random | None = None,
    ) -> None:
        self.queue = queue
        self.telemetry = telemetry
        self.faults = faults
        self.metrics = metrics
        self.work_s = work_s
        self._rng = rng or random.Random()

    async def process(self, job: Job) -> bool:
        waited = time.monotonic() - job.enqueued
        attributes: dict[str, str | int | float] = {
            "job.id": job.id,
            "job.wait_ms": round(waited * 1000, 1),
            "order.id": str(job.order_id),
        }
        with self.telemetry.tracer.start_as_current_span(
            "process job", context=job.context, attributes=attributes
        ) as span:
            await self.faults.delay()
            await asyncio.sleep(self._rng.uniform(*self.work_s))
            ok = not self.faults.fails()
            if not ok:
                span.set_status(StatusCode.ERROR, "injected fault")
            self.metrics.done(ok)
            extra = {
                "service": self.telemetry.service,
                "job": job.id,
                "order": job.order_id,
                "outcome": "ok" if ok else "error",
            }
            extra["wait_ms"] = attributes["job.wait_ms"]
            if ok:
                log.info("job done", extra=extra)
            else:
                log.error("job failed: injected fault", extra=extra)
            return ok

    async def consume(self) -> None:
        while True:
            job = await self.queue.get()
            try:
                await self.process(job)
            except Exception:  # a bug in one job must not stop the consumer
                self.metrics.done(False)
                log.exception("job crashed", extra={"job": job.id})
