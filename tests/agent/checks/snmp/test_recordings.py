"""Every recording of tests/data/snmp, served by snmpsim, polled by the real check and compared
with the answer key LibreNMS produced from the same device (``<name>.expected.json``).

A field may differ from LibreNMS only where the answer key documents the disagreement with its
evidence (see tests/data/snmp/README.md); :mod:`tests.agent.checks.snmp.answer_key` holds the rules.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from agent.checks.snmp.check import SnmpCheck, SnmpCheckConfig
from agent.checks.snmp.text import has_hex_dump
from agent.wire import DeviceReport
from tests.agent.checks.snmp.answer_key import compare_recording, one
from tests.agent.checks.snmp.support import RECORDINGS_DIR, assert_catalogued

RECORDINGS = sorted(p.stem for p in RECORDINGS_DIR.glob("*.snmprec")) or ["<no recordings>"]
EXCLUDED = ("jetdirect_m880", "brother_hl5370dw", "utax", "sharp", "routeros_rb760igs",
            "zxr10_5950", "ios_nac")  # fmt: skip
"""LibreNMS recordings kept aside for independent checks: none may be in the corpus."""


@pytest.fixture(scope="module")
def polled(snmpsim: Any) -> dict[str, DeviceReport]:
    """One poll of every recording through the real check and pysnmp, by recording name."""
    config = SnmpCheckConfig(targets=[snmpsim.target(name) for name in RECORDINGS])
    reports = asyncio.run(SnmpCheck(config).collect())
    return dict(zip(RECORDINGS, reports, strict=True))


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_polls_cleanly(name: str, polled: dict[str, DeviceReport]) -> None:
    report = polled[name]
    assert one(report, "snmp_up") == 1
    assert one(report, "snmp_invalid_values") == 0
    assert not [e for e in report.events if e.type.startswith("snmp_")]


@pytest.mark.parametrize("name", RECORDINGS)
def test_recording_matches_its_answer_key(name: str, polled: dict[str, DeviceReport]) -> None:
    comparison = compare_recording(RECORDINGS_DIR, name, polled[name])
    undocumented = [str(d) for d in comparison.differences if not d.documented]
    assert not comparison.problems, "\n".join(comparison.problems)
    assert not undocumented, "\n".join(undocumented)


def test_the_corpus_is_wide_enough_and_keeps_the_independent_set_aside() -> None:
    assert len(RECORDINGS) >= 50, f"{len(RECORDINGS)} recordings in {RECORDINGS_DIR}"
    for name in RECORDINGS:
        assert (RECORDINGS_DIR / f"{name}.expected.json").is_file()
        assert not name.startswith(EXCLUDED), f"{name} is kept aside for independent checks"
    # DrayTek: only the developers' draytek_vdsl, which was part of the set we were given.
    assert [n for n in RECORDINGS if n.startswith("draytek")] == ["draytek_vdsl"]


def test_every_emitted_sample_and_event_is_catalogued(polled: dict[str, DeviceReport]) -> None:
    assert_catalogued(list(polled.values()))


def test_emitted_values_are_sane(polled: dict[str, DeviceReport]) -> None:
    for report in polled.values():
        for sample in report.samples:
            if sample.name.endswith("_percent"):
                assert 0 <= sample.value <= 100, (report.device_id, sample)
            if sample.name.endswith(("_total", "_bytes", "_seconds", "_raw")):
                assert sample.value >= 0, (report.device_id, sample)


def test_no_hex_dump_reaches_a_label_or_an_event(polled: dict[str, DeviceReport]) -> None:
    for report in polled.values():
        for sample in report.samples:
            if sample.name.startswith("printer_"):
                for value in sample.labels.values():
                    assert not has_hex_dump(value), (report.device_id, sample)
        for event in report.events:
            assert not has_hex_dump(event.message), (report.device_id, event)
            for value in event.attrs.values():
                assert not has_hex_dump(value), (report.device_id, event)
