# The two set-up commands of the README: `make demo` (the main job) and `make test`.
VENV ?= .venv
export VENV

.PHONY: demo down test setup tools engine lint golden clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

tools: $(VENV)/.installed
	.ci/install-tools

setup: $(VENV)/.installed tools

# The exporter's and the stack's end-to-end tests need a Docker engine in swarm mode and
# HAProxy: installed and started when missing (idempotent; needs root).
engine:
	.ci/install-docker

# The main job: compile the example shop's SLOs and on-call file; prove the bundle with
# promtool and amtool; deploy the monitoring stack and the demo shop on the local swarm
# (building the images that are missing) in rehearsal mode; print where to look.
demo: setup engine
	$(VENV)/bin/slo build examples/slos --oncall examples/oncall.yaml --out build
	$(VENV)/bin/slo check build
	stack/up

# Remove what `make demo` deployed (the stacks; volumes too).
down: $(VENV)/.installed
	$(VENV)/bin/slo stack down --demo --volumes

test: setup engine
	$(VENV)/bin/pytest

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check slo alerts dashboards stack exporter tests bench
	$(VENV)/bin/ruff format --check slo alerts dashboards stack exporter tests bench
	$(VENV)/bin/mypy

# Refresh golden files after an intended change; review the diff, commit it with the change.
golden: $(VENV)/.installed
	$(VENV)/bin/pytest tests/test_golden.py --update-golden

clean:
	rm -rf build $(VENV)
