"""The broker URL check (distributed/celeryapp.py): its error never shows the URL's password."""

from __future__ import annotations

import pytest

from remediate.core.errors import ConfigError
from remediate.distributed.celeryapp import broker_url


def test_unsupported_broker_error_hides_the_password() -> None:
    """Before: `error: broker 'amqp://alice:BrokerSecret@mq/': only Redis...`."""
    with pytest.raises(ConfigError) as info:
        broker_url("amqp://alice:BrokerSecret@mq/")
    assert "BrokerSecret" not in str(info.value)
    assert "amqp://alice:***@mq/" in str(info.value) and "only Redis" in str(info.value)


def test_redis_urls_pass_unchanged() -> None:
    assert broker_url("redis://:pw@127.0.0.1:6379/0") == "redis://:pw@127.0.0.1:6379/0"
