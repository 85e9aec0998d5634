"""The monitoring stack for Docker Swarm, rendered from a bundle: `slo stack render`."""

from .render import RenderedStack, StackConfig, render

__all__ = ["RenderedStack", "StackConfig", "render"]
