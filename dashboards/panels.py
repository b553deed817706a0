"""Small helpers over grafana-foundation-sdk builders shared by every dashboard.

Every panel reads one Prometheus-compatible data source chosen by the ``datasource`` variable
(VictoriaMetrics or Prometheus: the series names are the same on both paths), and every panel
gets explicit options: Grafana fills defaults for missing ones, but the SDK's own model cannot
decode a panel whose ``options`` is null, and the tests validate the JSON with that model.
"""

from __future__ import annotations

from typing import Literal, Protocol, Self, TypeVar

from grafana_foundation_sdk.builders import (
    bargauge,
    heatmap,
    histogram,
    stat,
    statetimeline,
    table,
    timeseries,
)
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dash
from grafana_foundation_sdk.builders import prometheus as prom
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.cog.variants import Dataquery
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prom_model

from dashboards.texts import Tr, uid_for

# The data source the push command creates; dashboards default to it, users may pick another.
DATASOURCE_UID = "commune-monitor-tsdb"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Multi-value variables with "All" expand to a regex matching everything.
ALL = ".*"


def selector(metric: str, **matchers: str) -> str:
    """``cm_device_<metric>{...}``: keys ending in ``_re`` match a regex, ``_ne`` exclude."""
    return series(f"cm_device_{metric}", **matchers)


def series(name: str, **matchers: str) -> str:
    """``name{...}`` for the collector's own families (tickets, register): same matchers.

    On the sink path these reach the database by VictoriaMetrics scraping /metrics
    (``dashboards/victoriametrics/scrape.yml``), on the scrape path with the device series.
    """
    parts = []
    for key, value in matchers.items():
        if key.endswith("_re"):
            parts.append(f'{key[:-3]}=~"{value}"')
        elif key.endswith("_ne"):
            parts.append(f'{key[:-3]}!="{value}"')
        else:
            parts.append(f'{key}="{value}"')
    return f"{name}{{{','.join(parts)}}}"


def query(expr: str, legend: str = "", *, ref: str = "A", instant: bool = False) -> prom.Dataquery:
    """A PromQL target; ``legend`` names (as ``{{label}}``) the labels every series carries."""
    target = prom.Dataquery().expr(expr).legend_format(legend or "__auto").ref_id(ref)
    if instant:
        target = target.instant().format(prom_model.PromQueryFormat.TABLE)
    return target


# -- variables ---------------------------------------------------------------------------------


def datasource_variable(tr: Tr) -> dash.DatasourceVariable:
    """The data source picker (any Prometheus-compatible source)."""
    return (
        dash.DatasourceVariable("datasource")
        .label(tr("Nguồn dữ liệu", "Data source"))
        .type("prometheus")
        .current(model.VariableOption(text=DATASOURCE_UID, value=DATASOURCE_UID, selected=True))
    )


def label_variable(
    name: str, label: str, metric_selector: str, label_name: str, *, multi: bool = True
) -> dash.QueryVariable:
    """A variable listing the values of ``label_name`` on ``metric_selector``."""
    variable = (
        dash.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric_selector}, {label_name})")
        .refresh(model.VariableRefresh.ON_TIME_RANGE_CHANGED)
        .sort(model.VariableSort.ALPHABETICAL_ASC)
    )
    if multi:
        variable = variable.multi(True).include_all(True).all_value(ALL)
    return variable


def province_variable(tr: Tr) -> dash.QueryVariable:
    """Provinces that have reported (one collector is one province; national views hold many)."""
    return label_variable(
        "province", tr("Tỉnh/Thành phố", "Province"), "cm_device_agent_up", "province"
    )


def commune_variable(tr: Tr, *, multi: bool = True) -> dash.QueryVariable:
    """Communes of the chosen provinces."""
    return label_variable(
        "commune",
        tr("Xã/Phường", "Commune"),
        'cm_device_agent_up{province=~"$province"}',
        "commune_code",
        multi=multi,
    )


# -- panels ------------------------------------------------------------------------------------


class _PanelBuilder(Protocol):
    """The options every panel builder of the SDK has (they share no base class for them)."""

    def title(self, title: str, /) -> Self: ...
    def description(self, description: str, /) -> Self: ...
    def datasource(self, datasource: model.DataSourceRef, /) -> Self: ...
    def unit(self, unit: str, /) -> Self: ...
    def span(self, w: int, /) -> Self: ...
    def height(self, h: int, /) -> Self: ...
    def with_target(self, target: Builder[Dataquery], /) -> Self: ...


PanelT = TypeVar("PanelT", bound=_PanelBuilder)


def _panel(
    panel: PanelT,
    title: str,
    description: str,
    targets: tuple[prom.Dataquery, ...],
    *,
    unit: str | None,
    width: int,
    height: int,
) -> PanelT:
    """``panel`` with the settings all panels share: texts, data source, unit, size, queries."""
    panel = panel.title(title).description(description).datasource(DATASOURCE)
    if unit is not None:
        panel = panel.unit(unit)
    panel = panel.span(width).height(height)
    for target in targets:
        panel = panel.with_target(target)
    return panel


def stat_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 6
) -> stat.Panel:
    """A big number (last value of each series)."""
    return (
        _panel(stat.Panel(), title, description, targets, unit=unit, width=width, height=5)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def timeseries_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> timeseries.Panel:
    """Lines over time with a table legend."""
    return (
        _panel(timeseries.Panel(), title, description, targets, unit=unit, width=width, height=8)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        # Explicit field options: the SDK's decoder adds the custom block, so the JSON
        # written is already what the model reads back.
        .line_width(1)
        .fill_opacity(10)
    )


def table_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> table.Panel:
    """A table of instant values, one row per series."""
    return _panel(
        table.Panel(), title, description, targets, unit=unit, width=width, height=8
    ).show_header(True)


def bargauge_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> bargauge.Panel:
    """Horizontal bars, one per series (rankings, supply levels)."""
    return (
        _panel(bargauge.Panel(), title, description, targets, unit=unit, width=width, height=8)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )


def state_panel(
    title: str, description: str, *targets: prom.Dataquery, width: int = 12
) -> statetimeline.Panel:
    """Up/down over time, one band per series."""
    return (
        _panel(statetimeline.Panel(), title, description, targets, unit=None, width=width, height=6)
        .show_value(common.VisibilityMode.NEVER)
        .line_width(0)
        .fill_opacity(70)
    )


def heatmap_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "s", width: int = 24
) -> heatmap.Panel:
    """One row per series (e.g. per commune), coloured by value: spots slow places at a glance."""
    return (
        _panel(heatmap.Panel(), title, description, targets, unit=unit, width=width, height=10)
        .calculate(False)
        .show_value(common.VisibilityMode.NEVER)
        .scale_distribution(
            common_builders.ScaleDistributionConfig().type(common.ScaleDistribution.LINEAR)
        )
    )


def histogram_panel(
    title: str,
    description: str,
    *targets: prom.Dataquery,
    unit: str = "short",
    bucket_size: int,
    width: int = 12,
) -> histogram.Panel:
    """How many series fall in each value band (Grafana counts the instant values)."""
    return (
        _panel(histogram.Panel(), title, description, targets, unit=unit, width=width, height=8)
        .bucket_size(bucket_size)
        .combine(True)
        .line_width(1)
        .fill_opacity(80)
    )


def probe_success_panel(tr: Tr, target: prom.Dataquery) -> statetimeline.Panel:
    """The procedure-software probes' outcome over time (1 loaded, 0 failed)."""
    return state_panel(
        tr("Kiểm tra thành công", "Probe success"),
        tr("1: trang tải tốt; 0: lỗi", "1: the page loaded fine; 0: failed"),
        target,
    )


def row(title: str) -> dash.Row:
    """A section header."""
    return dash.Row(title)


def province_dashboard(
    uid: str,
    title: str,
    description: str,
    tr: Tr,
    *,
    commune: Literal["many", "one", "none"] = "many",
) -> dash.Dashboard:
    """A base_dashboard (``uid`` suffixed for tr's language) filtered by province, then by
    several communes, exactly one, or none (the caller adds its own variables after)."""
    board = base_dashboard(uid_for(uid, tr.lang), title, description, tr).with_variable(
        province_variable(tr)
    )
    if commune == "none":
        return board
    return board.with_variable(commune_variable(tr, multi=commune == "many"))


def base_dashboard(uid: str, title: str, description: str, tr: Tr) -> dash.Dashboard:
    """A dashboard with the project's common settings and the data source variable."""
    return (
        dash.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags(["commune-monitor", tr("xã", "commune")])
        .time("now-6h", "now")
        .refresh("1m")
        .timezone("browser")
        .readonly()
        .with_variable(datasource_variable(tr))
    )
