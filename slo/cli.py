"""The `slo` command. Thin: parse arguments, call the library, print, return an exit code.

Exit codes: 0 ok; 1 a check failed or the bundle on disk is stale; 2 bad input or a usage error.

Arguments are parsed with argparse, not click: importing click cost 13-16 ms of every run, more
than a small build's own work; argparse costs 1-2 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import __version__, naming
from .bundle import MANIFEST, build, stale_files, write
from .compile.rules import CompileOptions
from .duration import format_duration, parse_duration_ms
from .errors import InputError, InputErrors
from .load import load_paths
from .spec import ServiceSpec

__all__ = ["main"]

EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

Command = Callable[[argparse.Namespace], int]


def _err(text: str) -> None:
    # click flushed after every line: flushing stdout first keeps the lines of both streams in
    # their order where they share a terminal or a pipe (stderr is line-buffered).
    sys.stdout.flush()
    print(text, file=sys.stderr)


def _emit_json(payload: dict[str, Any]) -> None:
    print(json.dumps(payload, indent=2, sort_keys=True))


def _input_errors(errors: list[InputError], output: str) -> int:
    if output == "json":
        _emit_json({"ok": False, "errors": [e.as_dict() for e in errors]})
    else:
        for e in errors:
            _err(f"error: {e}")
        _err(f"{len(errors)} error(s); nothing written")
    return EXIT_INPUT


# --- option values: a bad one is a usage error (exit 2) naming the option -----------------


def _rate_window(value: str) -> str:
    try:
        ms = parse_duration_ms(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if ms > naming.DASHBOARD_WINDOW_MS:
        raise argparse.ArgumentTypeError("must be at most 5m, the shortest alert window")
    return format_duration(ms)


def _job_name(value: str) -> str:
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return value


def _image_override(value: str) -> tuple[str, str]:
    key, sep, ref = value.partition("=")
    if not sep or not key or not ref:
        raise argparse.ArgumentTypeError(f"{value!r}: expected KEY=IMAGE, like exporter=swarm-slo/exporter:abc123")
    return key.replace("-", "_"), ref


def _existing_file(value: str) -> str:
    # What click.Path(exists=True, dir_okay=False) checked, with its messages.
    if not os.path.exists(value):
        raise argparse.ArgumentTypeError(f"File {value!r} does not exist.")
    if os.path.isdir(value):
        raise argparse.ArgumentTypeError(f"File {value!r} is a directory.")
    if not os.access(value, os.R_OK):
        raise argparse.ArgumentTypeError(f"File {value!r} is not readable.")
    return value


# --- the commands ------------------------------------------------------------------------


def _build(args: argparse.Namespace) -> int:
    """Validate SLO files (default: slos/) and write the bundle."""
    out_dir: str = args.out_dir
    output: str = args.output
    options = CompileOptions(
        runbook_base_url=args.runbook_base_url,
        rate_window=args.rate_window,
        dashboards=args.dashboards,
        swarm_alerts=args.swarm_alerts,
        swarm_exporter_job=args.swarm_exporter_job,
    )
    try:
        if args.oncall_path is not None:
            from alerts.bundle import build as build_with_oncall

            bundle = build_with_oncall(args.paths or ["slos"], args.oncall_path, options)
        else:
            bundle = build(args.paths or ["slos"], options)
    except InputErrors as e:
        return _input_errors(e.errors, output)
    payload: dict[str, Any] = {
        "ok": True,
        "out": out_dir,
        "services": len(bundle.services),
        "slos": len(bundle.units),
        "warnings": [w.as_dict() for w in bundle.warnings],
    }
    if output == "text":
        for w in bundle.warnings:
            _err(f"warning: {w}")
    if args.explain:
        payload["explain"] = bundle.explain()
        if output == "text":
            _print_explain(payload["explain"])
    if args.check_stale:
        stale, total = stale_files(bundle, out_dir)
        payload["files"] = total
        payload["stale"] = stale
        payload["ok"] = not stale
        if output == "json":
            _emit_json(payload)
        elif stale:
            _err(f"{out_dir} is stale: {len(stale)} file(s) differ; run `slo build` and commit:")
            for p in stale:
                _err(f"  {p}")
        else:
            print(f"{out_dir} is up to date ({total} files)")
        return EXIT_FAILED if stale else EXIT_OK
    written = write(bundle, out_dir)
    payload["files"] = len(written)
    if output == "json":
        payload["written"] = written
        _emit_json(payload)
        return EXIT_OK
    kinds: dict[str, int] = {}
    for path in written:
        top = "/".join(path.split("/")[:2]) if path.startswith("prometheus/") else path.split("/")[0]
        top = top.removesuffix(".yml")
        kinds[top] = kinds.get(top, 0) + 1
    print(f"wrote {out_dir}/: {len(bundle.services)} services, {len(bundle.units)} SLOs, {len(written)} files")
    for top, n in sorted(kinds.items()):
        print(f"  {out_dir}/{top}{'' if top == MANIFEST else '/'}  {n} file(s)")
    return EXIT_OK


def _print_explain(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        print(
            f"{row['stack']}/{row['service']}/{row['slo']}: {row['objective_percent']}% over {row['period']} "
            f"(budget {row['error_budget']})"
        )
        for t in row["tiers"]:
            print(
                f"  {t['tier']:<12} {t['severity']:<6} {t['factor']:>7}x  {t['long_window']}/{t['short_window']:<4} "
                f"spends {t['budget_spent_at_firing_percent']}%  fires after {t['time_to_fire_at_100_percent_errors']}"
                f" at 100% errors, {t['time_to_fire_at_10x_budget']} at 10x; clears {t['time_to_clear_after_recovery']}"
                " after recovery"
            )


def _check(args: argparse.Namespace) -> int:
    """Run promtool check rules and test rules on a bundle; amtool check-config and the routing tests when the
    bundle has an Alertmanager configuration."""
    from alerts import check as amcheck

    from .check import PromtoolMissing, check_bundle, find_promtool  # subprocess and threads: 8 ms to import

    bundle_dir: str = args.bundle_dir
    secrets_dir: str | None = args.secrets_dir
    try:
        promtool = find_promtool(args.promtool_path)
        has_am = amcheck.has_alertmanager(bundle_dir)
        amtool = amcheck.find_amtool(amcheck.target_version(bundle_dir), args.amtool_path) if has_am else None
    except (PromtoolMissing, amcheck.AmtoolMissing) as e:
        _err(f"error: {e}")
        return EXIT_INPUT
    if secrets_dir is not None and not has_am:
        _err(f"error: {bundle_dir} has no Alertmanager configuration to preflight")
        return EXIT_INPUT
    result = check_bundle(bundle_dir, promtool)
    am = amcheck.check_alertmanager(bundle_dir, amtool) if amtool else None
    secrets: tuple[int, list[str]] | None = None
    if secrets_dir is not None:
        secrets = amcheck.secrets_preflight(bundle_dir, secrets_dir)
    failures = result.failures + (am.failures if am else []) + (secrets[1] if secrets else [])
    if args.output == "json":
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
            _err(f)
        state = "passed" if result.ok else "FAILED"
        print(
            f"promtool {result.version}: {result.rule_files} rule files checked, "
            f"{result.test_files} test files run"
            + (f", {result.dashboards} dashboards' queries checked" if result.dashboards else "")
            + f": {state}"
        )
        if am is not None:
            state = "passed" if am.ok else "FAILED"
            print(f"amtool {am.version}: config checked, {am.cases} routing tests run: {state}")
        if secrets is not None:
            state = "passed" if not secrets[1] else "FAILED"
            print(f"secrets: {secrets[0]} secret files referenced, {len(secrets[1])} missing or empty: {state}")
    return EXIT_OK if not failures else EXIT_FAILED


def _validate(args: argparse.Namespace) -> int:
    """Validate SLO files (and an on-call file) without writing anything."""
    output: str = args.output
    try:
        if args.oncall_path is not None:
            from alerts.bundle import load_all

            services, _ = load_all(args.paths or ["slos"], args.oncall_path)
        else:
            services = load_paths(args.paths or ["slos"])
    except InputErrors as e:
        return _input_errors(e.errors, output)
    if args.prometheus:
        from .live import check_buckets

        errors = check_buckets(services, args.prometheus)
        if errors:
            return _input_errors(sorted(errors), output)
    slos = sum(len(s.spec.slos) for s in services)
    if output == "json":
        _emit_json({"ok": True, "services": len(services), "slos": slos})
    else:
        print(f"ok: {len(services)} services, {slos} SLOs")
    return EXIT_OK


def _render_stack(args: argparse.Namespace) -> tuple[Any, Any] | None:
    """Render and write the stack: (the RenderedStack, its StackConfig), or None after printing why not."""
    from pathlib import Path

    from stack.render import BundleMissing, Images, StackConfig, render

    try:
        config = StackConfig(
            name=args.name,
            images=Images().replace(dict(args.images)),
            omit=frozenset(args.omit),
            rehearse=args.rehearse,
        )
        rendered = render(args.bundle_dir, config)
    except (BundleMissing, ValueError) as e:
        _err(f"error: {e}")
        return None
    rendered.write(Path(args.out_file))
    return rendered, config


def _stack_render(args: argparse.Namespace) -> int:
    """Write the stack file `slo stack deploy` would deploy, and the configs it mounts."""
    done = _render_stack(args)
    if done is None:
        return EXIT_INPUT
    rendered = done[0]
    files = len(rendered.files())
    if args.output == "json":
        _emit_json({"ok": True, "stack_file": args.out_file, "configs": len(rendered.configs), "files": files})
    else:
        print(f"wrote {args.out_file} and {len(rendered.configs)} configs beside it")
    return EXIT_OK


def _stack_deploy(args: argparse.Namespace) -> int:
    """Render the stack, deploy it on this engine's swarm and wait until every service is ready.

    A second deploy with nothing changed changes nothing; a changed rule file rolls Prometheus
    only (configs are named by content hash). Exit 1 when the stack does not become ready.
    """
    from pathlib import Path

    from stack.deploy import DeployError, deploy
    from stack.render import DEMO_STACK, render_demo

    done = _render_stack(args)
    if done is None:
        return EXIT_INPUT
    config = done[1]
    name: str = args.name
    output: str = args.output
    demo: bool = args.demo
    demo_file = Path(args.out_file).parent / "demo.yml"
    if demo:
        # Before anything is deployed: a demo that cannot work stops here (exit 2).
        try:
            demo_file.write_text(render_demo(config.images.demo, config), encoding="utf-8")
        except ValueError as e:
            _err(f"error: {e}")
            return EXIT_INPUT
    grafana_secret = f"{name}-grafana-admin-password"
    password_file: str | None = args.grafana_admin_password_file
    secret_files = {grafana_secret: Path(password_file)} if password_file else {}
    progress = (lambda m: _err(f"deploy: {m}")) if output == "text" else (lambda m: None)
    try:
        result = deploy(
            Path(args.out_file),
            name,
            timeout=args.timeout,
            secret_files=secret_files,
            generated_secrets=frozenset({grafana_secret}),
            progress=progress,
        )
        results = [result]
        if demo:
            results.append(deploy(demo_file, DEMO_STACK, timeout=args.timeout, progress=progress))
    except DeployError as e:
        if output == "json":
            _emit_json({"ok": False, "stack": name, "error": str(e)})
        else:
            _err(f"error: {e}")
        return EXIT_FAILED
    if output == "json":
        payload = {"ok": True, **result.as_dict()}
        if demo:
            payload["demo"] = results[1].as_dict()
        _emit_json(payload)
    else:
        for r in results:
            what = "no change" if not r.changed else f"changed {', '.join(r.changed)}"
            print(f"stack {r.stack}: {len(r.services)} services ready in {r.seconds:.0f} s ({what})")
        print(_where_to_look(config, args.rehearse, demo))
    return EXIT_OK


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


def _stack_down(args: argparse.Namespace) -> int:
    """Remove the stack (its services, network and configs; volumes with --volumes)."""
    from stack.deploy import DeployError, down
    from stack.render import DEMO_STACK

    name: str = args.name
    progress = (lambda m: _err(f"down: {m}")) if args.output == "text" else (lambda m: None)
    try:
        # The demo first: it joins the monitoring stack's network, which cannot go before it.
        removed = down(DEMO_STACK, timeout=args.timeout, progress=progress) if args.demo else 0
        removed += down(name, timeout=args.timeout, volumes=args.volumes, progress=progress)
    except DeployError as e:
        _err(f"error: {e}")
        return EXIT_FAILED
    if args.output == "json":
        _emit_json({"ok": True, "stack": name, "services_removed": removed})
    else:
        print(f"stack {name}: removed {removed} services")
    return EXIT_OK


def _schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of SLO files, or of the on-call file (for editors)."""
    print(json.dumps(oncall_json_schema() if args.oncall else json_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def json_schema() -> dict[str, Any]:
    from .model import json_schema as model_schema

    return model_schema(
        ServiceSpec,
        title="swarm-slo SLO file (swarm-slo/v1)",
        id="https://github.com/swarm-slo/swarm-slo/schema/slo-v1.json",
    )


def oncall_json_schema() -> dict[str, Any]:
    from alerts.spec import OnCall

    from .model import json_schema as model_schema

    return model_schema(
        OnCall,
        title="swarm-slo on-call file (swarm-slo/oncall-v1)",
        id="https://github.com/swarm-slo/swarm-slo/schema/oncall-v1.json",
    )


# --- the parsers -------------------------------------------------------------------------
#
# Each run builds only the parser it needs: the command's (`slo build`), or a group's (`slo`,
# `slo stack`) for its help, --version and the errors of an unknown command. Building all nine
# would cost about as much again as importing argparse.


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=["text", "json"], default="text", help="Output format.")


def _default(help: str) -> str:
    """click's show_default."""
    return help + "  [default: %(default)s]"


def _build_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    p.add_argument("--out", dest="out_dir", default="build", metavar="TEXT", help=_default("Bundle directory."))
    p.add_argument(
        "--check", dest="check_stale", action="store_true", help="Write nothing; exit 1 if the bundle on disk is stale."
    )
    p.add_argument("--explain", action="store_true", help="Print each tier's factor, windows and timings.")
    p.add_argument(
        "--runbook-base-url",
        default="",
        metavar="TEXT",
        help="Prefix of runbook links in alerts (default: bundle paths).",
    )
    p.add_argument(
        "--rate-window",
        default=naming.DEFAULT_RATE_WINDOW,
        type=_rate_window,
        metavar="TEXT",
        help=_default(
            "Rate window of the SLI source rules: your rule evaluation interval, at least 2 scrape intervals."
        ),
    )
    p.add_argument(
        "--dashboards",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Write Grafana dashboards and provisioning under grafana/.  [default: dashboards]",
    )
    p.add_argument(
        "--swarm-alerts",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="Alerts on the Swarm exporter's metrics: per service (replicas, updates, crashes, health) and "
        "cluster-wide (nodes, leader, the exporter), with their tests and runbook.  [default: swarm-alerts]",
    )
    p.add_argument(
        "--swarm-exporter-job",
        default=naming.SWARM_EXPORTER_JOB,
        type=_job_name,
        metavar="TEXT",
        help=_default("Prometheus job of the Swarm exporter's targets, which the Swarm alerts select."),
    )
    p.add_argument(
        "--oncall",
        dest="oncall_path",
        metavar="PATH",
        help="On-call file: also write the Alertmanager configuration and routing tests.",
    )
    _output(p)


def _check_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("bundle_dir", nargs="?", default="build", help=argparse.SUPPRESS)
    p.add_argument(
        "--promtool", dest="promtool_path", metavar="TEXT", help="promtool binary (default: $PROMTOOL, then PATH)."
    )
    p.add_argument(
        "--amtool",
        dest="amtool_path",
        metavar="TEXT",
        help="amtool binary (default: $AMTOOL, then the targeted version in the tool cache, the venv, PATH).",
    )
    p.add_argument(
        "--secrets-dir",
        metavar="PATH",
        help="Deploy-time preflight: every secret file of the Alertmanager configuration must exist here "
        "(/run/secrets/NAME is looked up as DIR/NAME).",
    )
    _output(p)


def _validate_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", help=argparse.SUPPRESS)
    p.add_argument(
        "--prometheus", metavar="TEXT", help="Also check classic-histogram thresholds against this Prometheus."
    )
    p.add_argument("--oncall", dest="oncall_path", metavar="PATH", help="Also validate this on-call file.")
    _output(p)


def _schema_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--oncall", action="store_true", help="The on-call file's schema instead of the SLO file's.")


def _stack_options(p: argparse.ArgumentParser) -> None:
    """The options `stack render` and `stack deploy` share."""
    p.add_argument(
        "--bundle", dest="bundle_dir", default="build", metavar="TEXT", help=_default("Bundle directory (slo build).")
    )
    p.add_argument(
        "--out",
        dest="out_file",
        default="stack-rendered/stack.yml",
        metavar="TEXT",
        help=_default("Stack file to write; its configs go beside it under configs/."),
    )
    p.add_argument("--name", default="monitoring", metavar="TEXT", help=_default("Stack name."))
    p.add_argument(
        "--image",
        dest="images",
        action="append",
        default=[],
        type=_image_override,
        metavar="KEY=IMAGE",
        help="Use this image for a service (repeatable), e.g. exporter=swarm-slo/exporter:1a2b3c.",
    )
    p.add_argument(
        "--omit",
        action="append",
        default=[],
        metavar="SERVICE",
        help="Leave a service out of the stack (repeatable), e.g. grafana where its image cannot be had.",
    )
    p.add_argument(
        "--rehearse",
        action="store_true",
        help="Deliver every notification to the stack's webhook sink instead of the on-call file's receivers.",
    )


def _stack_render_options(p: argparse.ArgumentParser) -> None:
    _stack_options(p)
    _output(p)


def _stack_deploy_options(p: argparse.ArgumentParser) -> None:
    _stack_options(p)
    p.add_argument(
        "--timeout",
        default=600.0,
        type=float,
        metavar="FLOAT",
        help=_default("Seconds to wait until every service is ready."),
    )
    p.add_argument(
        "--demo",
        action="store_true",
        help="Also deploy the demo shop (stack/demo/) as the stack `shop` (its image: --image demo=...).",
    )
    p.add_argument(
        "--grafana-admin-password-file",
        type=_existing_file,
        metavar="FILE",
        help="Create Grafana's admin password secret from this file (default: a random one) when it does not exist.",
    )
    _output(p)


def _stack_down_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", default="monitoring", metavar="TEXT", help=_default("Stack name."))
    p.add_argument("--volumes", action="store_true", help="Also remove the stack's volumes (Prometheus' data, ...).")
    p.add_argument("--demo", action="store_true", help="Also remove the demo shop (the stack `shop`).")
    p.add_argument(
        "--timeout",
        default=120.0,
        type=float,
        metavar="FLOAT",
        help=_default("Seconds to wait until everything is gone."),
    )
    _output(p)


@dataclass(frozen=True)
class _Command:
    run: Command  # its docstring is the command's help
    options: Callable[[argparse.ArgumentParser], None]
    usage: str = "[OPTIONS]"

    @property
    def doc(self) -> str:
        return self.run.__doc__ or ""


@dataclass(frozen=True)
class _Group:
    doc: str
    commands: dict[str, _Command | _Group]  # in the order of their help listing


_STACK = _Group(
    "The monitoring stack on Docker Swarm (Prometheus, Alertmanager, Grafana, ...).",
    {
        "deploy": _Command(_stack_deploy, _stack_deploy_options),
        "down": _Command(_stack_down, _stack_down_options),
        "render": _Command(_stack_render, _stack_render_options),
    },
)
_SLO = _Group(
    "Compile SLO files into a Prometheus rule bundle and prove it with promtool.",
    {
        "build": _Command(_build, _build_options, "[OPTIONS] [PATHS]..."),
        "check": _Command(_check, _check_options, "[OPTIONS] [BUNDLE_DIR]"),
        "schema": _Command(_schema, _schema_options),
        "stack": _STACK,
        "validate": _Command(_validate, _validate_options, "[OPTIONS] [PATHS]..."),
    },
)


class _Formatter(argparse.HelpFormatter):
    """Fills each paragraph of a description on its own, as click did; argparse runs them together."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text  # not inside the generator: zero-argument super() needs the method's frame
        return "\n\n".join(fill(p, width, indent) for p in text.split("\n\n"))


def _new_parser(prog: str, usage: str, doc: str) -> argparse.ArgumentParser:
    # No abbreviated options (`--ou`): click accepted none, and a new option could change their meaning.
    return argparse.ArgumentParser(
        prog=prog,
        usage=f"%(prog)s {usage}",
        description=doc,
        formatter_class=_Formatter,
        add_help=False,
        allow_abbrev=False,
    )


def _add_help(parser: argparse.ArgumentParser) -> None:
    # Last, where click listed it.
    parser.add_argument("-h", "--help", action="help", help="Show this message and exit.")


def _command_parser(prog: str, command: _Command) -> argparse.ArgumentParser:
    parser = _new_parser(prog, command.usage, command.doc)
    command.options(parser)
    _add_help(parser)
    return parser


def _group_parser(prog: str, group: _Group) -> argparse.ArgumentParser:
    """A group's parser: its help, --version at the top, and the error for an unknown command."""
    parser = _new_parser(prog, "[OPTIONS] COMMAND [ARGS]...", group.doc)
    if group is _SLO:
        parser.add_argument(
            "--version", action="version", version=f"slo, version {__version__}", help="Show the version and exit."
        )
    _add_help(parser)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", prog=prog)
    for name, node in group.commands.items():
        commands.add_parser(name, help=node.doc.split("\n\n")[0], add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # A build allocates millions of small objects and frees them together at exit; the
    # cyclic GC rescanning them costs a third of the load time at 10,000 SLOs and frees
    # almost nothing (the model has no reference cycles worth collecting).
    gc.disable()
    args = list(sys.argv[1:] if argv is None else argv)
    prog = "slo"
    node: _Command | _Group = _SLO
    while isinstance(node, _Group) and args and args[0] in node.commands:
        prog, node = f"{prog} {args[0]}", node.commands[args.pop(0)]
    try:
        if isinstance(node, _Group):
            group = _group_parser(prog, node)
            group.parse_args(args)  # exits: --help, --version, an unknown command or option
            # `slo`, `slo stack`: the group's help on stderr, exit 2 (click's no_args_is_help).
            sys.stderr.write(group.format_help())
            return EXIT_INPUT
        # Intermixed: options and arguments in any order (`slo build a --out x b`), as with click;
        # plain argparse stops filling PATHS at the first option after them.
        options = _command_parser(prog, node).parse_intermixed_args(args)
    except SystemExit as e:
        # argparse exits after --help and --version (0) and on a usage error (2, its message on stderr).
        return e.code if isinstance(e.code, int) else EXIT_OK if e.code is None else EXIT_INPUT
    try:
        code = node.run(options)
        sys.stdout.flush()  # here, where a reader that left is handled, rather than in run()
    except (EOFError, KeyboardInterrupt):
        # As click did: end the ^C line, exit 1, no traceback.
        print(file=sys.stderr)
        return EXIT_FAILED
    except BrokenPipeError:
        # The reader left (`slo validate | true`): exit 1 without a traceback, as click did; what
        # stdout still buffers goes to /dev/null, so that no later flush fails again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return code


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
