"""The ELK side for users (stack/elk/), which cannot run here (no registry, Logstash, Kibana or
Elasticsearch to be had): checked statically. The Logstash pipeline is parsed with the
pipeline grammar (tests/logstash_config.py) and its wiring checked; the lifecycle policy
against the documented ILM schema (phases, their allowed actions, time units, ordering); the
index template and Kibana's saved objects for their shape and their references to each other
and to the pipeline; the stack file by the docker CLI's parser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from logstash_config import ParseError, parse

from stack.render import StackConfig, filebeat_config
from tests.conftest import ROOT

ELK = ROOT / "stack" / "elk"
PIPELINE = ELK / "logstash" / "swarm-logs.conf"
POLICY = ELK / "elasticsearch" / "ilm-policy.json"
TEMPLATE = ELK / "elasticsearch" / "index-template.json"
SAVED_OBJECTS = ELK / "kibana" / "saved-objects.ndjson"
STACK = ELK / "stack.yml"

# Elasticsearch's index lifecycle documentation: the phases in order and the actions each allows.
PHASE_ACTIONS = {
    "hot": {
        "set_priority",
        "unfollow",
        "rollover",
        "readonly",
        "downsample",
        "shrink",
        "forcemerge",
        "searchable_snapshot",
    },
    "warm": {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
    "cold": {"set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate"},
    "frozen": {"unfollow", "searchable_snapshot"},
    "delete": {"wait_for_snapshot", "delete"},
}
ROLLOVER_CONDITIONS = {
    f"{bound}_{what}"
    for bound in ("max", "min")
    for what in ("age", "docs", "size", "primary_shard_size", "primary_shard_docs")
}
_TIME = re.compile(r"^(\d+)(d|h|m|s|ms|micros|nanos)$")
_BYTES = re.compile(r"^\d+(b|kb|mb|gb|tb|pb)$")
_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "micros": 1e-6, "nanos": 1e-9}


def _seconds(value: str) -> float:
    m = _TIME.match(value)
    assert m, value
    return int(m.group(1)) * _SECONDS[m.group(2)]


def ilm_errors(document: Any) -> list[str]:
    """What the documented ILM policy schema refuses in `document` (PUT _ilm/policy/NAME's body)."""
    errors: list[str] = []
    if not isinstance(document, dict) or set(document) != {"policy"}:
        return ["the body is one object with the key `policy`"]
    policy = document["policy"]
    if not isinstance(policy, dict) or not set(policy) <= {"phases", "_meta"} or "phases" not in policy:
        return ["`policy` has `phases` (and optionally `_meta`) only"]
    phases = policy["phases"]
    unknown = set(phases) - set(PHASE_ACTIONS)
    if unknown:
        errors.append(f"unknown phases {sorted(unknown)}")
    last = -1.0
    for name in [p for p in PHASE_ACTIONS if p in phases]:
        phase = phases[name]
        if not set(phase) <= {"min_age", "actions"}:
            errors.append(f"{name}: only min_age and actions")
        age = phase.get("min_age", "0ms")
        if not _TIME.match(str(age)):
            errors.append(f"{name}: min_age {age!r} is not a time value")
            continue
        if _seconds(age) < last:
            errors.append(f"{name}: min_age {age} is before the previous phase's")
        last = _seconds(age)
        actions = phase.get("actions", {})
        for action in set(actions) - PHASE_ACTIONS[name]:
            errors.append(f"{name}: action {action!r} is not allowed in this phase")
        rollover = actions.get("rollover")
        if rollover is not None:
            if (
                not rollover
                or not set(rollover) <= ROLLOVER_CONDITIONS
                or not any(k.startswith("max_") for k in rollover)
            ):
                errors.append(f"{name}: rollover needs max_* conditions among {sorted(ROLLOVER_CONDITIONS)}")
            for key, value in rollover.items():
                if key.endswith("_age") and not _TIME.match(str(value)):
                    errors.append(f"{name}: rollover {key} {value!r} is not a time value")
                if key.endswith("_size") and not _BYTES.match(str(value)):
                    errors.append(f"{name}: rollover {key} {value!r} is not a byte size")
                if key.endswith("_docs") and not (isinstance(value, int) and value > 0):
                    errors.append(f"{name}: rollover {key} must be a positive integer")
        if (
            name == "hot"
            and {"shrink", "forcemerge", "searchable_snapshot"} & set(actions)
            and "rollover" not in actions
        ):
            errors.append("hot: shrink, forcemerge and searchable_snapshot need rollover in the hot phase")
        if "set_priority" in actions:
            priority = actions["set_priority"].get("priority")
            if not (isinstance(priority, int) and priority >= 0):
                errors.append(f"{name}: set_priority.priority must be a non-negative integer")
        if "forcemerge" in actions:
            segments = actions["forcemerge"].get("max_num_segments")
            if not (isinstance(segments, int) and segments >= 1):
                errors.append(f"{name}: forcemerge.max_num_segments must be a positive integer")
        if "delete" in actions and not set(actions["delete"]) <= {"delete_searchable_snapshot"}:
            errors.append(f"{name}: delete takes only delete_searchable_snapshot")
        for action in ("readonly", "unfollow"):
            if action in actions and actions[action] != {}:
                errors.append(f"{name}: {action} takes no options")
    return errors


def _pipeline() -> Any:
    return parse(PIPELINE.read_text())


def test_the_logstash_pipeline_parses_and_decodes_gelf_json_into_ilm_indices() -> None:
    pipeline = _pipeline()
    (gelf,) = pipeline.plugins("input", "gelf")
    assert gelf.get("port") == 12201 and gelf.get("use_udp") is True
    (decode,) = pipeline.plugins("filter", "json")
    assert (decode.get("source"), decode.get("target"), decode.get("skip_on_invalid_json")) == ("message", "json", True)
    copies = {k: v for m in pipeline.plugins("filter", "mutate") for k, v in (m.get("copy") or {}).items()}
    # The same fields as the local Filebeat pipeline (stack/templates/filebeat.yml.j2).
    filebeat = yaml.safe_load(filebeat_config("http://x:9200", None))
    (copy_fields,) = [p["copy_fields"] for p in filebeat["processors"] if "copy_fields" in p]
    local = {f["from"]: f["to"] for f in copy_fields["fields"]}
    assert {k.strip("[]").replace("][", "."): v.strip("[]").replace("][", ".") for k, v in copies.items()} == local
    for plugin in pipeline.plugins("filter", "mutate"):  # each copy only where the field is
        for source in plugin.get("copy") or {}:
            assert plugin.conditions == (source,), plugin
    (es,) = pipeline.plugins("output", "elasticsearch")
    policy_name = "swarm-slo-logs"
    assert es.get("ilm_enabled") is True and es.get("ilm_policy") == policy_name
    assert es.get("data_stream") is False  # a rollover alias, not a data stream
    template = json.loads(TEMPLATE.read_text())
    assert es.get("ilm_rollover_alias") == template["template"]["settings"]["index.lifecycle.rollover_alias"]
    assert template["template"]["settings"]["index.lifecycle.name"] == policy_name
    assert f"{es.get('ilm_rollover_alias')}-*" in template["index_patterns"]
    assert es.get("manage_template") is False  # the setup job installs the template
    assert "ELASTICSEARCH_HOSTS" in es.get("hosts")[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input { gelf { port => 12201 }", "unclosed '{'"),
        ("input { gelf { port 12201 } }", "line 1, column 21: expected '=>'"),
        ("inputs { }", "expected input, filter or output"),
        ('filter {\n  json { source => "message }\n}', "line 2"),
        ("filter { if [a] == { } }", "expected a value in the condition"),
        ("filter { if [a] =~ 3 { } }", "expected a regexp"),
        ("", "empty pipeline"),
    ],
)
def test_the_grammar_check_refuses_broken_pipelines(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)):
        parse(text)


def test_the_grammar_check_accepts_the_languages_constructs() -> None:
    text = """
    # a comment
    input { beats { port => 5044 codec => json { charset => "UTF-8" } } }
    filter {
      if [a][b] in ["x", "y"] and !([c] == 1) { drop { } }
      else if [d] !~ /^z/ or [e] not in [f] { mutate { add_tag => ['t', "u"] add_field => { "k" => "%{v}" } } }
      else { noop { ratio => 0.5 } }
    }
    output { stdout { } }
    """
    pipeline = parse(text)
    assert [p.name for p in pipeline.sections["filter"]] == ["drop", "mutate", "noop"]
    assert pipeline.sections["filter"][2].conditions == ("else",)
    assert pipeline.sections["input"][0].get("codec") == {"json": {"charset": "UTF-8"}}
    assert pipeline.sections["filter"][1].get("add_tag") == ["t", "u"]


def test_the_lifecycle_policy_follows_the_documented_schema_and_keeps_logs_15_days() -> None:
    policy = json.loads(POLICY.read_text())
    assert ilm_errors(policy) == []
    phases = policy["policy"]["phases"]
    assert phases["hot"]["actions"]["rollover"]["max_age"] == "1d"
    # As long as Prometheus keeps the metrics the logs explain.
    assert phases["delete"]["min_age"] == StackConfig().retention_time


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda p: p["phases"]["hot"]["actions"].update(delete={}), "hot: action 'delete' is not allowed"),
        (lambda p: p["phases"]["delete"].update(min_age="1d"), "delete: min_age 1d is before"),
        (lambda p: p["phases"]["warm"].update(min_age="2 days"), "warm: min_age '2 days' is not a time value"),
        (lambda p: p["phases"]["hot"]["actions"]["rollover"].update(max_size="10 GB"), "not a byte size"),
        (lambda p: p["phases"].update(lukewarm={}), "unknown phases ['lukewarm']"),
        (lambda p: p["phases"]["hot"]["actions"].pop("rollover") and None, None),
    ],
)
def test_the_schema_check_refuses_what_the_documentation_does(change: Any, error: str | None) -> None:
    policy = json.loads(POLICY.read_text())
    change(policy["policy"])
    errors = ilm_errors(policy)
    if error is None:  # a hot phase without rollover is valid (when it has no shrink/forcemerge)
        assert errors == []
    else:
        assert any(error in e for e in errors), errors


def test_the_index_template_maps_what_the_pipelines_produce() -> None:
    template = json.loads(TEMPLATE.read_text())
    assert set(template) <= {"index_patterns", "template", "priority", "composed_of", "version", "_meta", "data_stream"}
    props = template["template"]["mappings"]["properties"]
    assert props["trace"]["properties"]["id"]["type"] == "keyword"
    assert props["span"]["properties"]["id"]["type"] == "keyword"
    # The same `json` fields, not mapped dynamically, as the local pipeline's index template.
    filebeat = yaml.safe_load(filebeat_config("http://x:9200", None))
    (json_group,) = filebeat["setup.template.append_fields"]
    local = {f["name"]: f["type"] for f in json_group["fields"]}
    assert props["json"]["dynamic"] is False and json_group["dynamic"] is False
    assert {k: v["type"] for k, v in props["json"]["properties"].items()} == local


def _saved_objects() -> list[dict[str, Any]]:
    objects = []
    for n, line in enumerate(SAVED_OBJECTS.read_text().splitlines(), 1):
        obj = json.loads(line)
        assert isinstance(obj, dict), f"line {n} is not an object"
        objects.append(obj)
    return objects


def test_kibana_saved_objects_are_an_index_pattern_and_a_search_by_trace_id() -> None:
    objects = _saved_objects()
    for obj in objects:
        assert {"type", "id", "attributes"} <= set(obj), obj
        assert isinstance(obj["attributes"], dict) and isinstance(obj.get("references", []), list)
    ids = {(o["type"], o["id"]) for o in objects}
    assert len(ids) == len(objects), "duplicate saved objects"
    for obj in objects:
        for ref in obj.get("references", []):
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']} refers to a missing {ref}"
    (pattern,) = [o for o in objects if o["type"] == "index-pattern"]
    template = json.loads(TEMPLATE.read_text())
    assert pattern["attributes"]["title"] in template["index_patterns"]
    assert pattern["attributes"]["timeFieldName"] == "@timestamp"
    formats = json.loads(pattern["attributes"]["fieldFormatMap"])
    assert formats["trace.id"]["params"]["urlTemplate"].endswith("/trace/{{value}}")  # to Jaeger
    (search,) = [o for o in objects if o["type"] == "search"]
    source = json.loads(search["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])
    assert source["query"] == {"query": "trace.id : *", "language": "kuery"}
    assert source["indexRefName"] in {r["name"] for r in search["references"]}
    mapped = set(template["template"]["mappings"]["properties"])
    for column in search["attributes"]["columns"]:
        assert column.split(".")[0] in mapped, column


def test_the_elk_stack_file_is_valid_and_hardened() -> None:
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("docker CLI not found; `make engine` installs it")
    proc = subprocess.run(
        [docker, "stack", "config", "-c", STACK.name], cwd=ELK, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    merged = yaml.safe_load(proc.stdout)
    assert set(merged["services"]) == {"elasticsearch", "kibana", "logstash", "setup"}
    for name, service in merged["services"].items():
        assert service["deploy"]["resources"]["limits"], name
        assert service["logging"]["options"] == {"max-size": "10m", "max-file": "3"}, name
        for port in service.get("ports", []):
            assert port["mode"] == "host", name
    (port,) = merged["services"]["logstash"]["ports"]
    assert (port["target"], port["protocol"]) == (_pipeline().plugins("input", "gelf")[0].get("port"), "udp")
    assert merged["services"]["logstash"]["deploy"]["mode"] == "global"  # each engine sends to its own node
    for config in yaml.safe_load(STACK.read_text())["configs"].values():
        assert (ELK / config["file"]).is_file(), config
    bash = subprocess.run(["bash", "-n", str(ELK / "setup")], capture_output=True, text=True, check=False)
    assert bash.returncode == 0, bash.stderr


def test_the_setup_job_installs_what_the_pipeline_and_kibana_name() -> None:
    script = (ELK / "setup").read_text()
    assert "_ilm/policy/swarm-slo-logs" in script
    assert "_index_template/swarm-logs" in script
    assert "api/saved_objects/_import?overwrite=true" in script
    paths = {Path(p).name for p in re.findall(r"\$dir/([\w.-]+)", script)}
    assert paths == {POLICY.name, TEMPLATE.name, SAVED_OBJECTS.name}
