"""The Swarm exporter."""
