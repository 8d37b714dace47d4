#!/usr/bin/env bash
# The whole suite, as `make test` and CI run it. Stages by name run one after the other:
#   scripts/test.sh unit          scripts/test.sh lint sanity
# Stages: lint sanity unit floors integration hosts e2e (benchmarks runs only when named). Each stage prints
# its time, and the pytest stages their slowest tests.
#
# Without names, the suite runs in two lanes at once, since the stages on the twin spend much of
# their time waiting on it and the machine has two cores: e2e (site.yml provisions the estate once,
# then every runbook runs on it) in the foreground, and integration, hosts, unit, floors, lint and sanity in
# the background, each stage on a twin of its own; the background's output follows the foreground's.
# The e2e lane is the longer one, so the background runs at a lower priority (nice 10): it takes the
# CPU the e2e lane leaves while it waits on hosts and health checks, not the CPU site.yml needs.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export PYTHONPATH="$PWD"
export ANSIBLE_CONFIG="$PWD/ansible.cfg"
export CONTAINERS_CONF="$PWD/twin/containers.conf"
# The local inventory's modules run through the module server (scripts/module_python says why); tests
# with inventories of their own start an interpreter per module, as production does.
export WEDSYNC_MODULE_PYTHON="$PWD/scripts/module-python"
# A module sent on the interpreter's standard input, not written, made executable and removed: three
# fewer commands per task on the local connection (connections without pipelining ignore it).
export ANSIBLE_PIPELINING=True
trap 'scripts/module-python --stop' EXIT

# The suite runs twins of its own, so a twin left up for a demo keeps its state.
use_twin() {
  export WEDSYNC_TWIN_STATE="$PWD/.cache/twin-$1"
}

# run_stage calls stages on the left of ||, where errexit does not apply: each linter's status is
# kept so that one failing is not hidden by the next passing.
stage_lint() {
  local status=0
  ruff check --output-format concise . || status=1
  ruff format --check . || status=1
  ansible-lint --nocolor -q || status=1
  antsibull-changelog lint || status=1
  return "$status"
}

stage_sanity() {
  scripts/sanity.sh
}

# The module tests run in the floors stage instead, on the oldest boto3 and botocore we support;
# integration and e2e run the modules on the pinned (newest) ones.
stage_unit() {
  pytest tests/unit twin/tests -q -n auto --durations=5 --ignore=tests/unit/plugins/modules
}

# The module tests on the floors requirements.txt states for boto3 and botocore (README, Support):
# a virtualenv layered over .venv (a .pth file) that holds only those two at their floors, and
# what they need, ahead of .venv's.
stage_floors() {
  local floors=.cache/floors site
  python -m venv --clear "$floors"
  site=$("$floors/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  python -c 'import sysconfig; print(sysconfig.get_path("purelib"))' >"$site/wedsync-dev.pth"
  # shellcheck disable=SC2046 # one argument per requirement
  "$floors/bin/python" -m pip install --quiet --disable-pip-version-check \
    $(sed -nE 's/^(boto3|botocore)>=/\1==/p' requirements.txt)
  "$floors/bin/python" -c 'import boto3, botocore; print(f"floors: boto3 {boto3.__version__}, botocore {botocore.__version__}")'
  "$floors/bin/python" -m pytest tests/unit/plugins/modules -q -n auto --durations=5 -p no:cacheprovider
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

# The modules against the AWS API: their instances stay records (no host containers), which keeps
# this stage off the two cores the e2e stage's hosts need.
stage_integration() {
  use_twin integration
  WEDSYNC_TWIN_INSTANCE_HOSTS=0 twin_up
  local status=0
  pytest tests/integration -q --durations=10 || status=$?
  twin_down_and_check_nothing_left || status=1
  return "$status"
}

# The host_baseline role on the twin's systemd containers: no AWS, so no twin server.
stage_hosts() {
  use_twin hosts
  local status=0
  molecule test -s host_baseline || status=1
  twin_down_and_check_nothing_left || status=1
  return "$status"
}

# One twin for the estate: Molecule's `site` provisions and verifies it and leaves it; tests/e2e
# runs every runbook on it instead of provisioning again.
stage_e2e() {
  use_twin e2e
  local status=0
  twin_up
  molecule test -s site || status=1
  if [ "$status" -eq 0 ]; then
    pytest tests/e2e -q --durations=40 || status=$?
  fi
  twin_down_and_check_nothing_left || status=1
  return "$status"
}

stage_benchmarks() {
  use_twin benchmarks
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
  # In a subshell: a stage's twin and environment end with it.
  ("stage_$name") || status=$?
  echo "<== $name: $([ "$status" -eq 0 ] && echo ok || echo "FAILED ($status)") in $(( $(date +%s) - started ))s"
  return "$status"
}

# Runs the stages named after the first argument one after the other; the file named first gets
# the names of those that failed, one per line.
run_stages() {
  local failed_file=$1 stage
  shift
  : >"$failed_file"
  for stage in "$@"; do
    run_stage "$stage" || echo "$stage" >>"$failed_file"
  done
}

for stage in "$@"; do
  declare -F "stage_$stage" >/dev/null || { echo "unknown stage: $stage" >&2; exit 2; }
done

logs=.cache/test-logs
mkdir -p "$logs"
if [ $# -gt 0 ]; then
  stages=("$@")
  run_stages "$logs/failed" "${stages[@]}"
else
  foreground=(e2e)
  background=(integration hosts unit floors lint sanity)
  stages=("${foreground[@]}" "${background[@]}")
  echo "--- ${background[*]} run in the background; their output follows"
  (
    renice -n 10 -p "$BASHPID" >/dev/null
    run_stages "$logs/failed-background" "${background[@]}"
  ) >"$logs/background.log" 2>&1 &
  background_pid=$!
  run_stages "$logs/failed" "${foreground[@]}"
  wait "$background_pid" || true
  echo "--- the background: ${background[*]}"
  cat "$logs/background.log"
  cat "$logs/failed-background" >>"$logs/failed"
fi
mapfile -t failed <"$logs/failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED stages: ${failed[*]}"
  exit 1
fi
echo "all stages passed: ${stages[*]}"
