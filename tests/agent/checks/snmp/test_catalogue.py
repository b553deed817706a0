"""The metric catalogue (metrics.yaml): valid, bilingual, and following the naming rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.catalogue import SNMP_CATALOGUE_PATH, CatalogueError, Help, load_catalogue
from agent.wire import RESERVED_LABELS

VIETNAMESE_LETTERS = set("ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ")


def test_the_catalogue_loads_and_every_help_text_has_vietnamese_diacritics() -> None:
    catalogue = load_catalogue(SNMP_CATALOGUE_PATH)
    assert catalogue.metric("snmp_up") is not None
    assert catalogue.event("printer_error") is not None
    helps: list[tuple[str, Help]] = [(m.name, m.help) for m in catalogue.metrics]
    helps += [(e.type, e.help) for e in catalogue.events]
    for name, text in helps:
        assert text.en.strip(), name
        assert VIETNAMESE_LETTERS & set(text.vi.lower()), f"{name}: Vietnamese without diacritics"


def test_no_metric_uses_a_label_the_collector_adds() -> None:
    for spec in load_catalogue(SNMP_CATALOGUE_PATH).metrics:
        assert not RESERVED_LABELS & set(spec.labels), spec.name


@pytest.mark.parametrize(
    ("name", "kind", "unit", "labels", "vi", "problem"),
    [
        ("if_in_octets", "counter", "octets", "[]", "vi: ăâê", "_total"),
        ("cpu", "gauge", "percent", "[]", "vi: ăâê", "unit '_percent'"),
        ("x_up", "gauge", "''", "[device_id]", "vi: ăâê", "not allowed"),
        ("x_up", "gauge", "''", "[Bad]", "vi: ăâê", "not allowed"),
        ("x_up", "gauge", "''", "[]", "", "help.vi"),
    ],
)
def test_a_bad_catalogue_is_refused(
    tmp_path: Path, name: str, kind: str, unit: str, labels: str, vi: str, problem: str
) -> None:
    path = tmp_path / "metrics.yaml"
    entry = (
        f"  - {{name: {name}, check: snmp, type: {kind}, unit: {unit}, labels: {labels},"
        f" help: {{en: abc, {vi}}}}}"
    )
    path.write_text(f"metrics:\n{entry}\nevents: []\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=problem):
        load_catalogue(path)
