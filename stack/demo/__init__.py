"""The demo shop (web -> api -> worker): one aiohttp program with a role, instrumented with
OpenTelemetry (traces over OTLP, the web role's HTTP metrics) and prometheus-client (the api's
HTTP metrics, the worker's job metrics), with an admin endpoint that injects faults.

    python -m stack.demo --role web|api|worker --listen 0.0.0.0:8080
    python -m stack.demo.loadgen --url http://web:8080/ --rate 10 --duration 600
    python -m stack.demo.healthcheck http://localhost:8080/healthz

Nothing is imported here: the health check must start fast, with the standard library only."""
