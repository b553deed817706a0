"""``commune-monitor dashboards``: generate the Grafana JSON, and push it to a Grafana."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from collector.cli_support import fail

app = typer.Typer(
    help="Grafana dashboards (Vietnamese, with English copies): build JSON, push to Grafana.",
    no_args_is_help=True,
)


@app.command("build")
def build(
    out: Annotated[Path, typer.Option(help="Folder to write <uid>.json files into.")],
) -> None:
    """Write every dashboard as Grafana JSON (also usable with file provisioning)."""
    from dashboards.build import write

    for path in write(out):
        typer.echo(str(path))


def _read_dir(directory: Path) -> dict[str, dict[str, Any]]:
    dashboards: dict[str, dict[str, Any]] = {}
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            fail(f"{path}: not a dashboard JSON file ({exc})")
        if not isinstance(data, dict) or not isinstance(data.get("uid"), str):
            fail(f"{path}: field 'uid' is missing")
        dashboards[data["uid"]] = data
    if not dashboards:
        fail(f"{directory}: no *.json dashboards")
    return dashboards


@app.command("push")
def push(
    url: Annotated[str, typer.Option(help="Grafana base URL, e.g. http://127.0.0.1:3000.")],
    token: Annotated[
        str, typer.Option(envvar="GRAFANA_TOKEN", help="Service-account token (Editor or Admin).")
    ],
    datasource_url: Annotated[
        str | None,
        typer.Option(
            help="Also create the data source for this VictoriaMetrics/Prometheus URL, "
            "e.g. http://127.0.0.1:8428."
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Push the JSON files of this folder instead of building."),
    ] = None,
) -> None:
    """Create or update the folder, data source and dashboards in Grafana (safe to repeat)."""
    import niquests
    from grafana_client.client import GrafanaException

    from dashboards.build import all_dashboards
    from dashboards.provision import connect
    from dashboards.provision import push as push_all

    dashboards = _read_dir(directory) if directory is not None else all_dashboards()
    try:
        with connect(url, token) as api:
            result = push_all(api, dashboards, datasource_url)
    except GrafanaException as exc:
        fail(f"Grafana at {url} answered {exc.status_code}: {exc.message}")
    except niquests.exceptions.RequestException as exc:
        fail(f"cannot reach Grafana at {url}: {exc}")
    for label, names in (
        ("created", result.created),
        ("updated", result.updated),
        ("unchanged", result.unchanged),
    ):
        for name in names:
            typer.echo(f"{label:<9} {name}")
