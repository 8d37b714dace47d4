# Two commands for a newcomer: `make demo` and `make test`. Everything else is a building block.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
export PATH := $(CURDIR)/$(BIN):$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export CONTAINERS_CONF := $(CURDIR)/twin/containers.conf
export PYTHONPATH := $(CURDIR)

COLLECTION_LINK := .cache/collections/ansible_collections/wedsync/platform
TWIN_APP_DEPS := .cache/twin-app/.fetched
COLLECTION_VERSION := $(shell sed -n 's/^version: *//p' galaxy.yml)

.PHONY: help deps system-deps demo test twin-up twin-down twin-release twin-status lint sanity unit floors integration hosts e2e benchmarks changelog collection ee clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

# The pinned developer environment, and the collection's runtime floors, so that a requirement
# added to requirements.txt is installed even before requirements-dev.txt pins it.
$(BIN)/.installed: requirements-dev.txt requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements.txt
	touch $@

# The development virtualenv imports scripts/venv-site/ansiballz_code_cache.py at start-up (its
# docstring says why): a .pth file in its site-packages.
CODE_CACHE_PTH := $(VENV)/.ansiballz-code-cache
$(CODE_CACHE_PTH): $(BIN)/.installed
	printf '%s\nimport ansiballz_code_cache\n' "$(CURDIR)/scripts/venv-site" \
	  >"$$($(BIN)/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/wedsync-ansiballz-code-cache.pth"
	touch $@

$(COLLECTION_LINK):
	mkdir -p $(dir $@)
	ln -sfn ../../../.. $@

system-deps: ## Install missing Debian packages (podman, runc, debootstrap, postgresql, redis-server, nodejs, npm, shellcheck)
	@scripts/system-deps.sh

# The twin's release app's npm packages as twin/app/package-lock.json pins them: the one step that
# needs the npm registry; every bundle build after it (the tests') is offline.
$(TWIN_APP_DEPS): twin/app/package.json twin/app/package-lock.json | $(BIN)/.installed
	$(BIN)/python -m twin release --deps-only
	touch $@

deps: system-deps $(BIN)/.installed $(CODE_CACHE_PTH) $(COLLECTION_LINK) $(TWIN_APP_DEPS) ## Virtualenv from requirements-dev.txt, Debian packages, collection path, the twin app's npm packages

demo: deps ## Provision both regions of the local twin with site.yml, deploy a first release and summarise what exists
	$(BIN)/python -m twin up
	set -a && . .twin/env && set +a && $(BIN)/ansible-playbook -i inventories/local playbooks/site.yml
	set -a && . .twin/env && set +a && $(BIN)/python -m twin release 1.0.0 \
	  && $(BIN)/ansible-playbook -i inventories/local playbooks/deploy_blue_green.yml -e blue_green_version=1.0.0 -e blue_green_steps=100
	$(BIN)/python -m twin demo

test: deps ## The whole suite: lint, sanity, unit, twin integration, Molecule and runbooks end to end
	scripts/test.sh

twin-up: deps ## Start the local twin (idempotent); writes .twin/env
	$(BIN)/python -m twin up

twin-down: deps ## Stop the twin: no process, port or container left behind
	$(BIN)/python -m twin down

twin-release: deps ## A release bundle on the twin to deploy: make twin-release VERSION=1.2.3
	@test -n "$(VERSION)" || { echo "make twin-release VERSION=1.2.3" >&2; exit 2; }
	set -a && . $${WEDSYNC_TWIN_STATE:-.twin}/env && set +a && $(BIN)/python -m twin release $(VERSION)

twin-status: deps ## What the twin is running
	$(BIN)/python -m twin status

lint: deps ## ruff and ansible-lint (production profile)
	scripts/test.sh lint

sanity: deps ## ansible-test sanity --test validate-modules, offline
	scripts/test.sh sanity

unit: deps ## Unit tests (the module tests run in floors)
	scripts/test.sh unit

floors: deps ## The module tests on the oldest boto3 and botocore requirements.txt allows
	scripts/test.sh floors

integration: deps ## Integration tests against the twin
	scripts/test.sh integration

hosts: deps ## Molecule host_baseline on the twin's systemd containers
	scripts/test.sh hosts

e2e: deps ## Molecule site, then every runbook end to end on the estate it leaves
	scripts/test.sh e2e

benchmarks: deps ## Benchmarks against the twin, printing their figures
	scripts/test.sh benchmarks

changelog: deps ## Release the changelog from fragments
	$(BIN)/antsibull-changelog release

collection: $(BIN)/.installed ## Build the collection artifact into build/
	$(BIN)/ansible-galaxy collection build --force --output-path build

# The image ansible-navigator.yml runs; ansible-builder pulls the base image and the collections
# galaxy.yml depends on, so this needs podman and the registries.
ee: collection ## Build the execution environment image wedsync-platform-ee:<version>
	$(BIN)/ansible-builder build -f execution-environment.yml -t wedsync-platform-ee:$(COLLECTION_VERSION)

clean: twin-down ## Remove the virtualenv, local state and build output
	rm -rf $(VENV) .cache .twin .pytest_cache .ruff_cache tests/output build context
