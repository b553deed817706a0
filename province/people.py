"""The console pages of issue 22, built from a province's service: the report form for people's
problems and the pages behind the signed answer links of notifications (with the same key the
notifications are signed with: the ``alerts.link_secret`` setting or the data folder's key)."""

from __future__ import annotations

from fastapi import APIRouter

from alerts.link_tokens import ActionLinks, load_link_secret
from province.console import console_for
from province.service import ProvinceService
from web.routes import intake, links
from web.routes.http import Pages


def action_links(service: ProvinceService) -> ActionLinks:
    """The collector's answer links: the dispatcher's own when alerting runs here."""
    if service.alerting is not None and service.alerting.dispatcher.links is not None:
        return service.alerting.dispatcher.links
    settings = service.settings
    secret = load_link_secret(settings.alerts.link_secret, settings.data_dir)
    return ActionLinks(secret, settings.public_url)


def people_pages(service: ProvinceService) -> Pages:
    """The console's rendering and session checks for these pages."""
    return Pages(console_for(service))


def people_routers(service: ProvinceService) -> list[APIRouter]:
    """The report form's and the answer links' routes."""
    pages = people_pages(service)
    return [intake.router(pages), links.router(pages, action_links(service))]
