"""The central configuration model: validation naming the field, the default configuration."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agent.agent_config import parse_central_config
from agent.errors import ConfigRejected


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"checks": {"x": {"check": "telepathy"}}}, "checks.x: unknown check 'telepathy'"),
        (
            {"checks": {"h": {"check": "host", "interval_seconds": 0}}},
            "checks.h.interval_seconds: Input should be greater than 0",
        ),
        (
            {
                "checks": {
                    "p": {
                        "check": "http_probe",
                        "options": {"targets": [{"name": "a", "url": "not a url"}]},
                    }
                }
            },
            "checks.p: check 'http_probe': options.targets.0.url",
        ),
    ],
)
def test_bad_central_config_is_rejected_naming_the_field(
    body: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ConfigRejected) as rejected:
        parse_central_config(json.dumps(body), '"e1"')
    assert problem in str(rejected.value)
    assert rejected.value.etag == '"e1"'


def test_the_default_configuration_checks_host_signing_bridges_and_tokens() -> None:
    from agent.agent_config import DEFAULT_INTERVALS, default_agent_config

    config = default_agent_config()
    assert {name: spec.check for name, spec in config.checks.items()} == {
        "host": "host",
        "signing": "signing",
        "tokens": "tokens",
    }
    assert [config.checks[n].interval for n in ("host", "signing", "tokens")] == [15, 60, 600]
    assert set(DEFAULT_INTERVALS) >= {"host", "signing", "tokens", "local_service", "ping"}
    # What the collector serves as the default must round-trip through the agent's parser.
    assert parse_central_config(config.model_dump_json()) == config
