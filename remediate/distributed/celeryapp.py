"""The Celery application both sides build: broker and result backend on the same Redis.

Settings that make a fix run at most once (docs/workers.md):
- task_acks_late=False: a task is acknowledged when a worker starts it, so a worker killed
  mid-batch is never re-delivered (its unrecorded hosts end `failed: worker lost`, --resume
  completes them after re-checking); worker_prefetch_multiplier=1: a worker holds no more tasks
  than it runs.
- No ETA or countdown is ever used: on Redis such tasks wait unacknowledged and are re-delivered
  to a second worker once the visibility timeout passes
  (https://docs.celeryq.dev/en/latest/getting-started/backends-and-brokers/redis.html#redis-caveats).
- task_track_started=True: a started task's state names the worker that runs it, which the
  controller pings (app.control.ping) to tell a lost worker from a slow one.
"""

from __future__ import annotations

import os
from typing import Any

from remediate.core.errors import ConfigError
from remediate.history.url import url_display

TASK_NAME = "remediate.run_batch"
BROKER_ENV = "REMEDIATE_BROKER"
VISIBILITY_TIMEOUT = 12 * 3600  # seconds; never reached by design (early acks, no ETA)


def broker_url(given: str | None) -> str:
    """--broker / --workers, else $REMEDIATE_BROKER; a missing one is a ConfigError."""
    url = given or os.environ.get(BROKER_ENV, "")
    if not url:
        raise ConfigError(f"no broker: pass a redis:// URL (--broker / --workers) or set ${BROKER_ENV}")
    if not url.startswith(("redis://", "rediss://", "redis+socket://")):
        raise ConfigError(f"broker {url_display(url)!r}: only Redis is supported (redis://, rediss://)")
    return url


def make_app(url: str) -> Any:
    """A Celery app on `url` (Redis as broker and result backend), configured as above."""
    from celery import Celery

    app = Celery("remediate", broker=url, backend=url, set_as_current=False)
    app.conf.update(
        task_acks_late=False,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_track_started=True,
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_disable_rate_limits=True,
        task_create_missing_queues=True,
        result_expires=7 * 24 * 3600,
    )
    return app
