"""Grafana dashboards and provisioning files, generated from the same SLO model as the rules.

grafanalib builds the dashboards; `modernize` corrects what it gets wrong for current
Grafana (see that module). `dashboard_files` is what the bundle writer calls.
"""

from .files import dashboard_files, service_dashboard_file

__all__ = ["dashboard_files", "service_dashboard_file"]
