"""Grafana dashboards as code and their provisioning (issue 9)."""
