"""The `slo` command. Thin: parse arguments, call the library, print, return an exit code.

Exit codes: 0 ok; 1 a check failed or the bundle on disk is stale; 2 bad input.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from . import __version__, naming
from .bundle import MANIFEST, build, stale_files, write
from .check import PromtoolMissing, check_bundle, find_promtool
from .compile.rules import CompileOptions
from .duration import format_duration, parse_duration_ms
from .errors import InputError, InputErrors
from .load import load_paths
from .spec import ServiceSpec

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2
_output = click.option("--output", "-o", type=click.Choice(["text", "json"]), default="text", help="Output format.")


def _emit_json(payload: dict[str, Any]) -> None:
    click.echo(json.dumps(payload, indent=2, sort_keys=True))


def _input_errors(errors: list[InputError], output: str) -> int:
    if output == "json":
        _emit_json({"ok": False, "errors": [e.as_dict() for e in errors]})
    else:
        for e in errors:
            click.echo(f"error: {e}", err=True)
        click.echo(f"{len(errors)} error(s); nothing written", err=True)
    return EXIT_INPUT


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="slo")
def cli() -> None:
    """Compile SLO files into a Prometheus rule bundle and prove it with promtool."""


def _rate_window(ctx: click.Context, param: click.Parameter, value: str) -> str:
    try:
        ms = parse_duration_ms(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if ms > naming.DASHBOARD_WINDOW_MS:
        raise click.BadParameter("must be at most 5m, the shortest alert window")
    return format_duration(ms)


def _job_name(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not value.strip():
        raise click.BadParameter("must not be empty")
    return value


@cli.command("build")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", default="build", show_default=True, help="Bundle directory.")
@click.option(
    "--check",
    "check_stale",
    is_flag=True,
    help="Write nothing; exit 1 if the bundle on disk is stale.",
)
@click.option("--explain", is_flag=True, help="Print each tier's factor, windows and timings.")
@click.option(
    "--runbook-base-url",
    default="",
    help="Prefix of runbook links in alerts (default: bundle paths).",
)
@click.option(
    "--rate-window",
    default=naming.DEFAULT_RATE_WINDOW,
    show_default=True,
    callback=_rate_window,
    help="Rate window of the SLI source rules: your rule evaluation interval, at least 2 scrape intervals.",
)
@click.option(
    "--dashboards/--no-dashboards",
    default=True,
    show_default=True,
    help="Write Grafana dashboards and provisioning under grafana/.",
)
@click.option(
    "--swarm-alerts/--no-swarm-alerts",
    default=True,
    show_default=True,
    help="Alerts on the Swarm exporter's metrics: per service (replicas, updates, crashes, health) and "
    "cluster-wide (nodes, leader, the exporter), with their tests and runbook.",
)
@click.option(
    "--swarm-exporter-job",
    default=naming.SWARM_EXPORTER_JOB,
    show_default=True,
    callback=_job_name,
    help="Prometheus job of the Swarm exporter's targets, which the Swarm alerts select.",
)
@click.option(
    "--oncall",
    "oncall_path",
    default=None,
    type=click.Path(),
    help="On-call file: also write the Alertmanager configuration and routing tests.",
)
@_output
@click.pass_context
def build_cmd(
    ctx: click.Context,
    paths: tuple[str, ...],
    out_dir: str,
    check_stale: bool,
    explain: bool,
    runbook_base_url: str,
    rate_window: str,
    dashboards: bool,
    swarm_alerts: bool,
    swarm_exporter_job: str,
    oncall_path: str | None,
    output: str,
) -> None:
    """Validate SLO files (default: slos/) and write the bundle."""
    options = CompileOptions(
        runbook_base_url=runbook_base_url,
        rate_window=rate_window,
        dashboards=dashboards,
        swarm_alerts=swarm_alerts,
        swarm_exporter_job=swarm_exporter_job,
    )
    try:
        if oncall_path is not None:
            from alerts.bundle import build as build_with_oncall

            bundle = build_with_oncall(list(paths) or ["slos"], oncall_path, options)
        else:
            bundle = build(list(paths) or ["slos"], options)
    except InputErrors as e:
        ctx.exit(_input_errors(e.errors, output))
    payload: dict[str, Any] = {
        "ok": True,
        "out": out_dir,
        "services": len(bundle.services),
        "slos": len(bundle.units),
        "warnings": [w.as_dict() for w in bundle.warnings],
    }
    if output == "text":
        for w in bundle.warnings:
            click.echo(f"warning: {w}", err=True)
    if explain:
        payload["explain"] = bundle.explain()
        if output == "text":
            _print_explain(payload["explain"])
    if check_stale:
        stale, total = stale_files(bundle, out_dir)
        payload["files"] = total
        payload["stale"] = stale
        payload["ok"] = not stale
        if output == "json":
            _emit_json(payload)
        elif stale:
            click.echo(
                f"{out_dir} is stale: {len(stale)} file(s) differ; run `slo build` and commit:",
                err=True,
            )
            for p in stale:
                click.echo(f"  {p}", err=True)
        else:
            click.echo(f"{out_dir} is up to date ({total} files)")
        ctx.exit(EXIT_FAILED if stale else EXIT_OK)
    written = write(bundle, out_dir)
    payload["files"] = len(written)
    if output == "json":
        payload["written"] = written
        _emit_json(payload)
        return
    kinds: dict[str, int] = {}
    for path in written:
        top = "/".join(path.split("/")[:2]) if path.startswith("prometheus/") else path.split("/")[0]
        top = top.removesuffix(".yml")
        kinds[top] = kinds.get(top, 0) + 1
    click.echo(f"wrote {out_dir}/: {len(bundle.services)} services, {len(bundle.units)} SLOs, {len(written)} files")
    for top, n in sorted(kinds.items()):
        click.echo(f"  {out_dir}/{top}{'' if top == MANIFEST else '/'}  {n} file(s)")


def _print_explain(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        click.echo(
            f"{row['stack']}/{row['service']}/{row['slo']}: {row['objective_percent']}% over {row['period']} "
            f"(budget {row['error_budget']})"
        )
        for t in row["tiers"]:
            click.echo(
                f"  {t['tier']:<12} {t['severity']:<6} {t['factor']:>7}x  {t['long_window']}/{t['short_window']:<4} "
                f"spends {t['budget_spent_at_firing_percent']}%  fires after {t['time_to_fire_at_100_percent_errors']}"
                f" at 100% errors, {t['time_to_fire_at_10x_budget']} at 10x; clears {t['time_to_clear_after_recovery']}"
                " after recovery"
            )


@cli.command("check")
@click.argument("bundle_dir", default="build", type=click.Path())
@click.option(
    "--promtool",
    "promtool_path",
    default=None,
    help="promtool binary (default: $PROMTOOL, then PATH).",
)
@click.option(
    "--amtool",
    "amtool_path",
    default=None,
    help="amtool binary (default: $AMTOOL, then the targeted version in the tool cache, the venv, PATH).",
)
@click.option(
    "--secrets-dir",
    default=None,
    type=click.Path(),
    help="Deploy-time preflight: every secret file of the Alertmanager configuration must exist here "
    "(/run/secrets/NAME is looked up as DIR/NAME).",
)
@_output
@click.pass_context
def check_cmd(
    ctx: click.Context,
    bundle_dir: str,
    promtool_path: str | None,
    amtool_path: str | None,
    secrets_dir: str | None,
    output: str,
) -> None:
    """Run promtool check rules and test rules on a bundle; amtool check-config and the routing tests when the
    bundle has an Alertmanager configuration."""
    from alerts import check as amcheck

    try:
        promtool = find_promtool(promtool_path)
        has_am = amcheck.has_alertmanager(bundle_dir)
        amtool = amcheck.find_amtool(amcheck.target_version(bundle_dir), amtool_path) if has_am else None
    except (PromtoolMissing, amcheck.AmtoolMissing) as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_INPUT)
    if secrets_dir is not None and not has_am:
        click.echo(f"error: {bundle_dir} has no Alertmanager configuration to preflight", err=True)
        ctx.exit(EXIT_INPUT)
    result = check_bundle(bundle_dir, promtool)
    am = amcheck.check_alertmanager(bundle_dir, amtool) if amtool else None
    secrets: tuple[int, list[str]] | None = None
    if secrets_dir is not None:
        secrets = amcheck.secrets_preflight(bundle_dir, secrets_dir)
    failures = result.failures + (am.failures if am else []) + (secrets[1] if secrets else [])
    if output == "json":
        payload: dict[str, Any] = {
            "ok": not failures,
            "promtool": result.promtool,
            "promtool_version": result.version,
            "rule_files": result.rule_files,
            "test_files": result.test_files,
            "dashboards": result.dashboards,
            "failures": failures,
        }
        if am is not None:
            payload.update(amtool=am.amtool, amtool_version=am.version, routing_tests=am.cases)
        if secrets is not None:
            payload["secret_files"] = secrets[0]
        _emit_json(payload)
    else:
        for f in failures:
            click.echo(f, err=True)
        state = "passed" if result.ok else "FAILED"
        click.echo(
            f"promtool {result.version}: {result.rule_files} rule files checked, "
            f"{result.test_files} test files run"
            + (f", {result.dashboards} dashboards' queries checked" if result.dashboards else "")
            + f": {state}"
        )
        if am is not None:
            state = "passed" if am.ok else "FAILED"
            click.echo(f"amtool {am.version}: config checked, {am.cases} routing tests run: {state}")
        if secrets is not None:
            state = "passed" if not secrets[1] else "FAILED"
            click.echo(f"secrets: {secrets[0]} secret files referenced, {len(secrets[1])} missing or empty: {state}")
    ctx.exit(EXIT_OK if not failures else EXIT_FAILED)


@cli.command("validate")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--prometheus",
    default=None,
    help="Also check classic-histogram thresholds against this Prometheus.",
)
@click.option("--oncall", "oncall_path", default=None, type=click.Path(), help="Also validate this on-call file.")
@_output
@click.pass_context
def validate_cmd(
    ctx: click.Context, paths: tuple[str, ...], prometheus: str | None, oncall_path: str | None, output: str
) -> None:
    """Validate SLO files (and an on-call file) without writing anything."""
    try:
        if oncall_path is not None:
            from alerts.bundle import load_all

            services, _ = load_all(list(paths) or ["slos"], oncall_path)
        else:
            services = load_paths(list(paths) or ["slos"])
    except InputErrors as e:
        ctx.exit(_input_errors(e.errors, output))
    if prometheus:
        from .live import check_buckets

        errors = check_buckets(services, prometheus)
        if errors:
            ctx.exit(_input_errors(sorted(errors), output))
    slos = sum(len(s.spec.slos) for s in services)
    if output == "json":
        _emit_json({"ok": True, "services": len(services), "slos": slos})
    else:
        click.echo(f"ok: {len(services)} services, {slos} SLOs")


@cli.group("stack")
def stack_group() -> None:
    """The monitoring stack on Docker Swarm (Prometheus, Alertmanager, Grafana, ...)."""


def _image_overrides(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, ref = v.partition("=")
        if not sep or not key or not ref:
            raise click.BadParameter(f"{v!r}: expected KEY=IMAGE, like exporter=swarm-slo/exporter:abc123")
        out[key.replace("-", "_")] = ref
    return out


def _stack_options(f: Any) -> Any:
    f = click.option(
        "--rehearse",
        is_flag=True,
        help="Deliver every notification to the stack's webhook sink instead of the on-call file's receivers.",
    )(f)
    f = click.option(
        "--omit",
        multiple=True,
        metavar="SERVICE",
        help="Leave a service out of the stack (repeatable), e.g. grafana where its image cannot be had.",
    )(f)
    f = click.option(
        "--image",
        "images",
        multiple=True,
        metavar="KEY=IMAGE",
        callback=_image_overrides,
        help="Use this image for a service (repeatable), e.g. exporter=swarm-slo/exporter:1a2b3c.",
    )(f)
    f = click.option("--name", default="monitoring", show_default=True, help="Stack name.")(f)
    f = click.option(
        "--out",
        "out_file",
        default="stack-rendered/stack.yml",
        show_default=True,
        help="Stack file to write; its configs go beside it under configs/.",
    )(f)
    f = click.option(
        "--bundle", "bundle_dir", default="build", show_default=True, help="Bundle directory (slo build)."
    )(f)
    return f


def _render_stack(
    ctx: click.Context,
    bundle_dir: str,
    out_file: str,
    name: str,
    images: dict[str, str],
    omit: tuple[str, ...],
    rehearse: bool,
) -> Any:
    """Render and write the stack; exit 2 on bad input. Returns the RenderedStack."""
    from pathlib import Path

    from stack.render import BundleMissing, Images, StackConfig, render

    try:
        config = StackConfig(name=name, images=Images().replace(images), omit=frozenset(omit), rehearse=rehearse)
        rendered = render(bundle_dir, config)
    except (BundleMissing, ValueError) as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_INPUT)
    rendered.write(Path(out_file))
    return rendered, config


@stack_group.command("render")
@_stack_options
@_output
@click.pass_context
def stack_render_cmd(
    ctx: click.Context,
    bundle_dir: str,
    out_file: str,
    name: str,
    images: dict[str, str],
    omit: tuple[str, ...],
    rehearse: bool,
    output: str,
) -> None:
    """Write the stack file `slo stack deploy` would deploy, and the configs it mounts."""
    rendered, _ = _render_stack(ctx, bundle_dir, out_file, name, images, omit, rehearse)
    files = len(rendered.files())
    if output == "json":
        _emit_json({"ok": True, "stack_file": out_file, "configs": len(rendered.configs), "files": files})
    else:
        click.echo(f"wrote {out_file} and {len(rendered.configs)} configs beside it")
    ctx.exit(EXIT_OK)


@stack_group.command("deploy")
@_stack_options
@click.option("--timeout", default=600.0, show_default=True, help="Seconds to wait until every service is ready.")
@click.option(
    "--demo",
    is_flag=True,
    help="Also deploy the demo shop (stack/demo/) as the stack `shop` (its image: --image demo=...).",
)
@click.option(
    "--grafana-admin-password-file",
    type=click.Path(exists=True, dir_okay=False),
    help="Create Grafana's admin password secret from this file (default: a random one) when it does not exist.",
)
@_output
@click.pass_context
def stack_deploy_cmd(
    ctx: click.Context,
    bundle_dir: str,
    out_file: str,
    name: str,
    images: dict[str, str],
    omit: tuple[str, ...],
    rehearse: bool,
    timeout: float,
    demo: bool,
    grafana_admin_password_file: str | None,
    output: str,
) -> None:
    """Render the stack, deploy it on this engine's swarm and wait until every service is ready.

    A second deploy with nothing changed changes nothing; a changed rule file rolls Prometheus
    only (configs are named by content hash). Exit 1 when the stack does not become ready.
    """
    from pathlib import Path

    from stack.deploy import DeployError, deploy
    from stack.render import DEMO_STACK, render_demo

    _, config = _render_stack(ctx, bundle_dir, out_file, name, images, omit, rehearse)
    demo_file = Path(out_file).parent / "demo.yml"
    if demo:
        # Before anything is deployed: a demo that cannot work stops here (exit 2).
        try:
            demo_file.write_text(render_demo(config.images.demo, config), encoding="utf-8")
        except ValueError as e:
            click.echo(f"error: {e}", err=True)
            ctx.exit(EXIT_INPUT)
    grafana_secret = f"{name}-grafana-admin-password"
    secret_files = {grafana_secret: Path(grafana_admin_password_file)} if grafana_admin_password_file else {}
    progress = (lambda m: click.echo(f"deploy: {m}", err=True)) if output == "text" else (lambda m: None)
    try:
        result = deploy(
            Path(out_file),
            name,
            timeout=timeout,
            secret_files=secret_files,
            generated_secrets=frozenset({grafana_secret}),
            progress=progress,
        )
        results = [result]
        if demo:
            results.append(deploy(demo_file, DEMO_STACK, timeout=timeout, progress=progress))
    except DeployError as e:
        if output == "json":
            _emit_json({"ok": False, "stack": name, "error": str(e)})
        else:
            click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_FAILED)
    if output == "json":
        payload = {"ok": True, **result.as_dict()}
        if demo:
            payload["demo"] = results[1].as_dict()
        _emit_json(payload)
    else:
        for r in results:
            what = "no change" if not r.changed else f"changed {', '.join(r.changed)}"
            click.echo(f"stack {r.stack}: {len(r.services)} services ready in {r.seconds:.0f} s ({what})")
        click.echo(_where_to_look(config, rehearse, demo))
    ctx.exit(EXIT_OK)


def _where_to_look(config: Any, rehearse: bool, demo: bool) -> str:
    ports = config.ports
    lines = [
        "where to look:",
        f"  Prometheus     http://localhost:{ports.prometheus}/  (alerts: /api/v1/alerts)",
        f"  Alertmanager   http://localhost:{ports.alertmanager}/  (alerts: /api/v2/alerts)",
        f"  Jaeger         http://localhost:{ports.jaeger}/  (traces: /api/traces?service=web)",
    ]
    if "opensearch" not in config.omit:
        lines.append(
            f"  logs           http://localhost:{ports.opensearch}/logs-*/_search?q=trace.id:TRACE_ID"
            "  (OpenSearch; every container's lines)"
        )
    if "grafana" not in config.omit:
        lines.append(
            f"  Grafana        http://localhost:{ports.grafana}/"
            f"  (admin password: the secret {config.name}-grafana-admin-password)"
        )
    if rehearse:
        lines.append(
            f"  notifications  http://localhost:{ports.webhook}/notifications"
            f"  or  docker service logs {config.name}_webhook"
        )
    if demo:
        lines.append(
            "  demo shop      http://localhost:8080/  (faults: POST /admin/faults on each service; docs/demo.md)"
        )
    return "\n".join(lines)


@stack_group.command("down")
@click.option("--name", default="monitoring", show_default=True, help="Stack name.")
@click.option("--volumes", is_flag=True, help="Also remove the stack's volumes (Prometheus' data, ...).")
@click.option("--demo", is_flag=True, help="Also remove the demo shop (the stack `shop`).")
@click.option("--timeout", default=120.0, show_default=True, help="Seconds to wait until everything is gone.")
@_output
@click.pass_context
def stack_down_cmd(ctx: click.Context, name: str, volumes: bool, demo: bool, timeout: float, output: str) -> None:
    """Remove the stack (its services, network and configs; volumes with --volumes)."""
    from stack.deploy import DeployError, down
    from stack.render import DEMO_STACK

    progress = (lambda m: click.echo(f"down: {m}", err=True)) if output == "text" else (lambda m: None)
    try:
        # The demo first: it joins the monitoring stack's network, which cannot go before it.
        removed = down(DEMO_STACK, timeout=timeout, progress=progress) if demo else 0
        removed += down(name, timeout=timeout, volumes=volumes, progress=progress)
    except DeployError as e:
        click.echo(f"error: {e}", err=True)
        ctx.exit(EXIT_FAILED)
    if output == "json":
        _emit_json({"ok": True, "stack": name, "services_removed": removed})
    else:
        click.echo(f"stack {name}: removed {removed} services")
    ctx.exit(EXIT_OK)


@cli.command("schema")
@click.option("--oncall", "oncall", is_flag=True, help="The on-call file's schema instead of the SLO file's.")
def schema_cmd(oncall: bool) -> None:
    """Print the JSON Schema of SLO files, or of the on-call file (for editors)."""
    click.echo(json.dumps(oncall_json_schema() if oncall else json_schema(), indent=2, sort_keys=True))


def json_schema() -> dict[str, Any]:
    from .model import json_schema as model_schema

    schema = model_schema(ServiceSpec)
    schema["$id"] = "https://github.com/swarm-slo/swarm-slo/schema/slo-v1.json"
    schema["title"] = "swarm-slo SLO file (swarm-slo/v1)"
    return schema


def oncall_json_schema() -> dict[str, Any]:
    from alerts.spec import OnCall

    schema = OnCall.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/swarm-slo/swarm-slo/schema/oncall-v1.json"
    schema["title"] = "swarm-slo on-call file (swarm-slo/oncall-v1)"
    return schema


def main(argv: Sequence[str] | None = None) -> int:
    # A build allocates millions of small objects and frees them together at exit; the
    # cyclic GC rescanning them costs a third of the load time at 10,000 SLOs and frees
    # almost nothing (the model has no reference cycles worth collecting).
    gc.disable()
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        rv = cli.main(args=list(argv) if argv is not None else None, prog_name="slo", standalone_mode=False)
        if isinstance(rv, int):
            return rv
    except click.exceptions.Exit as e:
        return int(e.exit_code)
    except click.ClickException as e:
        e.show()
        return EXIT_INPUT
    except click.exceptions.Abort:
        return EXIT_FAILED
    return EXIT_OK


def run() -> None:
    """The `slo` command: main(), then exit without tearing the interpreter down.

    Freeing every module and object one by one at exit costs 13-19 ms per run (more than a
    1-SLO build's own work) and frees nothing the OS does not; mypy exits the same way
    (mypy.util.hard_exit). Output is flushed and every file is closed by then."""
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
