"""Alertmanager configuration and routing tests from the on-call file (`oncall.yaml`)."""
