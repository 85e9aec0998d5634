"""swarm-slo: SLO files in, a proven Prometheus rule bundle out."""

__version__ = "0.1.0"
