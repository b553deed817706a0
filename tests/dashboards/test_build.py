"""Generated dashboards (dashboards/build.py): valid against the foundation SDK's model,
catalogue names only, Vietnamese first with an English copy, committed JSON current."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus

from collector.catalogue import load_catalogue
from dashboards.build import all_dashboards
from tests.dashboards.servers import service_metric_names
from tests.dashboards.walk import panels, targets, variable_queries

COMMITTED = Path(__file__).resolve().parents[2] / "dashboards" / "json"
METRIC = re.compile(r"\b(cm_[a-z0-9_]+)")
SELECTOR_NAME = re.compile(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
VIETNAMESE = re.compile(r"[ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ]")

DASHBOARDS = all_dashboards()


@pytest.fixture(scope="module", autouse=True)
def _plugins() -> None:
    # The SDK decodes panel options and queries through its registry of plugin variants.
    register_default_plugins()


@pytest.mark.parametrize("uid", sorted(DASHBOARDS))
def test_json_decodes_with_the_sdk_model_and_round_trips(uid: str) -> None:
    data = DASHBOARDS[uid]
    decoded = model.Dashboard.from_json(data)
    assert json.loads(json.dumps(decoded, cls=JSONEncoder)) == data
    assert decoded.uid == uid
    ids = []
    for panel in decoded.panels or []:
        ids.append(panel.id_val)
        if isinstance(panel, model.RowPanel):
            continue
        assert isinstance(panel, model.Panel)
        # Options decode into the panel plugin's own model (e.g. stat.Options), not a dict.
        assert panel.options is not None
        assert type(panel.options).__module__.endswith(f".{panel.type_val.replace('-', '')}")
        assert panel.targets
        for target in panel.targets:
            assert isinstance(target, prometheus.Dataquery)
            assert target.expr
        assert panel.datasource is not None
        assert panel.datasource.uid == "${datasource}"
    assert len(ids) == len(set(ids))
    assert None not in ids
    names = [v.name for v in decoded.templating.list_val or []]
    assert names[0] == "datasource"
    assert "province" in names


def _exprs(data: dict[str, Any]) -> list[str]:
    return [t.expr for t in targets(data)] + [m for _, m, _ in variable_queries(data)]


def test_every_metric_name_is_in_the_catalogue_or_on_the_collectors_metrics(
    tmp_path: Path,
) -> None:
    catalogue = load_catalogue()
    exposed = service_metric_names(tmp_path)
    used: set[str] = set()
    for data in DASHBOARDS.values():
        for expr in _exprs(data):
            names = METRIC.findall(expr)
            assert names, expr
            used.update(names)
            assert set(SELECTOR_NAME.findall(expr)) <= set(names), expr
    devices = {n for n in used if n.startswith("cm_device_")}
    assert not {n for n in devices if n.removeprefix("cm_device_") not in catalogue}
    # The rest are the collector's own families (tickets, register), which VictoriaMetrics
    # scrapes on the sink path: a real collector must declare them.
    own = used - devices
    assert own <= exposed, own - exposed
    assert {"cm_tickets", "cm_ticket_sla_breaches", "cm_assets", "cm_upgrade_candidates"} <= own
    assert len(devices) >= 15


def test_vietnamese_first_and_an_english_copy_with_the_same_queries() -> None:
    vietnamese = [uid for uid in DASHBOARDS if not uid.endswith("-en")]
    assert len(vietnamese) == 6
    for uid in vietnamese:
        vi, en = DASHBOARDS[uid], DASHBOARDS[f"{uid}-en"]
        assert VIETNAMESE.search(vi["title"]), vi["title"]
        assert not VIETNAMESE.search(en["title"]), en["title"]
        vi_panels, en_panels = list(panels(vi)), list(panels(en))
        assert len(vi_panels) == len(en_panels) >= 4
        assert [p["targets"][0]["expr"] for p in vi_panels] == [
            p["targets"][0]["expr"] for p in en_panels
        ]
        assert sum(bool(VIETNAMESE.search(p["title"])) for p in vi_panels) >= len(vi_panels) // 2
        for panel in en_panels:
            assert not VIETNAMESE.search(panel["title"] + panel.get("description", ""))


def test_committed_json_is_what_the_code_builds() -> None:
    committed = {
        p.stem: json.loads(p.read_text(encoding="utf-8")) for p in COMMITTED.glob("*.json")
    }
    # If this fails: commune-monitor dashboards build --out dashboards/json
    assert committed == DASHBOARDS
