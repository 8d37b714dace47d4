#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it. One stage by name: scripts/test.sh unit
# Stages: lint sanity unit integration e2e (benchmarks runs only when named). Each stage prints its
# time, and the pytest stages their slowest tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD/tests"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export CONTAINERS_CONF="$PWD/tests/twin/containers.conf"
# The suite runs its own twin, so a twin left up for a demo keeps its state.
export WEDSYNC_TWIN_STATE="$PWD/.cache/twin-test"

stage_lint() {
  ruff check --output-format concise .
  ruff format --check .
  ansible-lint --nocolor -q
}

stage_sanity() {
  scripts/sanity.sh
}

stage_unit() {
  pytest tests/unit -q -n auto --durations=5
}

twin_up() {
  python -m twin up >/dev/null
  set -a
  # shellcheck disable=SC1091
  source "$WEDSYNC_TWIN_STATE/env"
  set +a
}

twin_down_and_check_nothing_left() {
  local server_pid=""
  [ -f "$WEDSYNC_TWIN_STATE/server.json" ] && server_pid=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['pid'])" "$WEDSYNC_TWIN_STATE/server.json")
  python -m twin down
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    echo "twin down left the server (pid $server_pid) running" >&2
    return 1
  fi
  if pgrep -f -- "-D $WEDSYNC_TWIN_STATE/pg/" >/dev/null; then
    echo "twin down left PostgreSQL clusters running:" >&2
    pgrep -af -- "-D $WEDSYNC_TWIN_STATE/pg/" >&2
    return 1
  fi
  if [ -n "$(podman ps -aq --filter label=wedsync-twin=host --filter "label=wedsync-twin.state=$(realpath "$WEDSYNC_TWIN_STATE")")" ]; then
    echo "twin down left host containers behind" >&2
    return 1
  fi
}

stage_integration() {
  twin_up
  local status=0
  pytest tests/integration -q --durations=10 || status=$?
  twin_down_and_check_nothing_left || status=1
  return "$status"
}

# One twin for the Molecule scenarios and the runbooks' end-to-end tests: `site` provisions and
# verifies the estate and leaves it; tests/e2e runs every runbook on it instead of provisioning again.
stage_e2e() {
  local scenario status=0
  twin_up
  for scenario in molecule/*/molecule.yml; do
    scenario=$(basename "$(dirname "$scenario")")
    molecule test -s "$scenario" || status=1
  done
  if [ "$status" -eq 0 ]; then
    pytest tests/e2e -q --durations=10 || status=$?
  fi
  twin_down_and_check_nothing_left || status=1
  return "$status"
}

stage_benchmarks() {
  twin_up
  local bench status=0
  for bench in benchmarks/*.py; do
    python "$bench" || status=1
  done
  python -m twin down
  return "$status"
}

run_stage() {
  local name=$1 started status=0
  started=$(date +%s)
  echo "==> $name"
  "stage_$name" || status=$?
  echo "<== $name: $([ "$status" -eq 0 ] && echo ok || echo "FAILED ($status)") in $(( $(date +%s) - started ))s"
  return "$status"
}

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(lint sanity unit integration e2e)
failed=()
for stage in "${stages[@]}"; do
  declare -F "stage_$stage" >/dev/null || { echo "unknown stage: $stage" >&2; exit 2; }
  run_stage "$stage" || failed+=("$stage")
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "all stages passed: ${stages[*]}"
