"""`-e "ansible_password=a b"` split into `ansible_password=a` and `b`; the error echoed `b`."""

from __future__ import annotations

import pytest

from remediate.core.errors import ConfigError
from remediate.core.variables import parse_extra_vars


@pytest.mark.parametrize(
    "item",
    ["ansible_password=hunter two2", "x=1 ansible_password=s3cr3t tail9", '{"ansible_password": hunter2 '],
)
def test_extra_vars_errors_do_not_echo_values(item: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_extra_vars([item])
    text = str(info.value)
    for word in ("two2", "tail9", "hunter2", "s3cr3t"):
        assert word not in text, text
