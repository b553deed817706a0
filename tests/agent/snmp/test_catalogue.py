"""The metric catalogue (metrics.yaml): valid, bilingual, and following the naming rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.snmp.errors import SnmpConfigError
from agent.snmp.metrics import HelpText, load_catalogue
from agent.wire import RESERVED_LABELS

VIETNAMESE_LETTERS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


def test_the_catalogue_loads_and_every_help_text_has_vietnamese_diacritics() -> None:
    catalogue = load_catalogue()
    assert "snmp_up" in catalogue.metrics
    assert "printer_error" in catalogue.events
    helps: list[tuple[str, HelpText]] = [(n, spec.help) for n, spec in catalogue.metrics.items()]
    helps += [(n, spec.help) for n, spec in catalogue.events.items()]
    for name, text in helps:
        assert text.en.strip(), name
        assert VIETNAMESE_LETTERS & set(text.vi.lower()), f"{name}: Vietnamese without diacritics"


def test_no_metric_uses_a_label_the_collector_adds() -> None:
    for name, spec in load_catalogue().metrics.items():
        assert not RESERVED_LABELS & set(spec.labels), name


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ("if_in_octets: {type: counter, unit: octets, labels: [], help: {en: a, vi: ă}}", "_total"),
        ("cpu: {type: gauge, unit: percent, labels: [], help: {en: a, vi: ă}}", "unit '_percent'"),
        ("x_up: {type: gauge, unit: '', labels: [device_id], help: {en: a, vi: ă}}", "reserved"),
        ("x_up: {type: gauge, unit: '', labels: [Bad], help: {en: a, vi: ă}}", "must match"),
        ("x_up: {type: gauge, unit: '', labels: [], help: {en: a}}", "help.vi"),
    ],
)
def test_a_bad_catalogue_is_refused(tmp_path: Path, metric: str, problem: str) -> None:
    path = tmp_path / "metrics.yaml"
    path.write_text(f"metrics:\n  {metric}\nevents: {{}}\n", encoding="utf-8")
    with pytest.raises(SnmpConfigError, match=problem):
        load_catalogue(path)
