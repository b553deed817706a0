"""Small helpers over grafana-foundation-sdk builders shared by every dashboard.

Every panel reads one Prometheus-compatible data source chosen by the ``datasource`` variable
(VictoriaMetrics or Prometheus: the series names are the same on both paths), and every panel
gets explicit options: Grafana fills defaults for missing ones, but the SDK's own model cannot
decode a panel whose ``options`` is null, and the tests validate the JSON with that model.
"""

from __future__ import annotations

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
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models import prometheus as prom_model

from dashboards.texts import Tr

# The data source the push command creates; dashboards default to it, users may pick another.
DATASOURCE_UID = "commune-monitor-tsdb"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
# Multi-value variables with "All" expand to a regex matching everything.
ALL = ".*"


def selector(metric: str, **matchers: str) -> str:
    """``cm_device_<metric>{...}``: keys ending in ``_re`` match a regex, ``_ne`` exclude."""
    parts = []
    for key, value in matchers.items():
        if key.endswith("_re"):
            parts.append(f'{key[:-3]}=~"{value}"')
        elif key.endswith("_ne"):
            parts.append(f'{key[:-3]}!="{value}"')
        else:
            parts.append(f'{key}="{value}"')
    return f"cm_device_{metric}{{{','.join(parts)}}}"


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


def stat_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 6
) -> stat.Panel:
    """A big number (last value of each series)."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(5)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def timeseries_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> timeseries.Panel:
    """Lines over time with a table legend."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
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
    for target in targets:
        panel = panel.with_target(target)
    return panel


def table_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> table.Panel:
    """A table of instant values, one row per series."""
    panel = (
        table.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .show_header(True)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def bargauge_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "short", width: int = 12
) -> bargauge.Panel:
    """Horizontal bars, one per series (rankings, supply levels)."""
    panel = (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .orientation(common.VizOrientation.HORIZONTAL)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def state_panel(
    title: str, description: str, *targets: prom.Dataquery, width: int = 12
) -> statetimeline.Panel:
    """Up/down over time, one band per series."""
    panel = (
        statetimeline.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .span(width)
        .height(6)
        .show_value(common.VisibilityMode.NEVER)
        .line_width(0)
        .fill_opacity(70)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def heatmap_panel(
    title: str, description: str, *targets: prom.Dataquery, unit: str = "s", width: int = 24
) -> heatmap.Panel:
    """One row per series (e.g. per commune), coloured by value: spots slow places at a glance."""
    panel = (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(10)
        .calculate(False)
        .show_value(common.VisibilityMode.NEVER)
        .scale_distribution(
            common_builders.ScaleDistributionConfig().type(common.ScaleDistribution.LINEAR)
        )
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def histogram_panel(
    title: str,
    description: str,
    *targets: prom.Dataquery,
    unit: str = "short",
    bucket_size: int,
    width: int = 12,
) -> histogram.Panel:
    """How many series fall in each value band (Grafana counts the instant values)."""
    panel = (
        histogram.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(8)
        .bucket_size(bucket_size)
        .combine(True)
        .line_width(1)
        .fill_opacity(80)
    )
    for target in targets:
        panel = panel.with_target(target)
    return panel


def row(title: str) -> dash.Row:
    """A section header."""
    return dash.Row(title)


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
