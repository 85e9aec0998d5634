"""The monitoring stack for Docker Swarm: `slo stack render|deploy|down` (render, deploy),
local image builds (build-images) and the small services our images run (webhook_sink).

Nothing is imported here: the images import single modules without the CLI's dependencies."""
