#!/usr/bin/env bash
# ansible-test sanity over the collection as it ships (galaxy.yml, meta/, plugins/), offline.
#
#   scripts/sanity.sh                         every test below
#   scripts/sanity.sh validate-modules        just those named
#   PYTHON=/path/to/python scripts/sanity.sh  another interpreter than .venv/bin/python
#
# The default set is what runs offline and means the same as upstream. Left out: pep8 and pylint
# (their tools are not in the venv; ruff covers style), and import, whose point is a bare
# virtualenv proving third-party imports are guarded, which the project's interpreter is not.
#
# Out of the box ansible-test cannot run here: it wants the collection at a real path ending in
# ansible_collections/wedsync/platform (it resolves the .cache/collections symlink back to the
# checkout), and it builds a virtualenv per sanity test by downloading get-pip and pinned
# requirements. So the collection is copied into .cache/sanity, its dependencies are linked
# beside it, and the tests run with the project's interpreter instead of fresh virtualenvs.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
WORK=$ROOT/.cache/sanity
DEST=$WORK/ansible_collections/wedsync/platform
TESTS=("$@")
((${#TESTS[@]})) || TESTS=(validate-modules compile ansible-doc runtime-metadata yamllint shebang line-endings
  no-smart-quotes empty-init use-argspec-type-path)

if [[ ! -x $PYTHON ]]; then
  echo "sanity: no interpreter at $PYTHON: run \`make deps\` or set PYTHON" >&2
  exit 2
fi
# validate-modules imports voluptuous; without it ansible-test would try to download it.
if ! "$PYTHON" -c 'import voluptuous' 2>/dev/null; then
  echo "sanity: $PYTHON lacks voluptuous, which validate-modules needs (add it to requirements-dev.in and requirements-dev.txt)" >&2
  exit 2
fi

rm -rf "$WORK/ansible_collections"
mkdir -p "$DEST"
# Only what ships and what sanity reads: build artefacts and local state would be tested too.
for path in galaxy.yml meta plugins tests/sanity; do
  [[ -e $ROOT/$path ]] || continue
  mkdir -p "$DEST/$(dirname "$path")"
  cp -a "$ROOT/$path" "$DEST/$path"
done
find "$DEST" -name __pycache__ -prune -exec rm -rf {} +
# Its own repository, so ansible-test lists these files rather than asking the checkout's git,
# which ignores .cache.
git init --quiet "$DEST"

# The collections galaxy.yml depends on, linked from the ones the ansible package bundles.
bundled=$("$PYTHON" -c 'import ansible_collections.amazon.aws as c, os; print(os.path.dirname(os.path.dirname(list(c.__path__)[0])))')
dependencies=$("$PYTHON" -c 'import sys, yaml; print(*(d.replace(".", "/") for d in yaml.safe_load(open(sys.argv[1]))["dependencies"]))' "$ROOT/galaxy.yml")
for dependency in $dependencies; do
  mkdir -p "$WORK/ansible_collections/${dependency%/*}"
  ln -sfn "$bundled/$dependency" "$WORK/ansible_collections/$dependency"
done

python_version=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
cd "$DEST"
# HOME keeps ansible-test's caches inside the project. The wrapper hands ansible-test the running
# interpreter wherever it would create (and download into) a sanity virtualenv.
HOME=$WORK/home "$PYTHON" - sanity --color no --python "$python_version" \
  "${TESTS[@]/#/--test=}" <<'EOF'
import sys

from ansible_test._internal.commands import sanity
from ansible_test._internal.host_configs import VirtualPythonConfig
from ansible_test._internal.util_common import yamlcheck
from ansible_test._util.target.cli.ansible_test_cli_stub import main


def current_interpreter(args, python, name, coverage=False, minimize=False):
    return VirtualPythonConfig(version=python.version, path=sys.executable)


sanity.create_sanity_virtualenv = current_interpreter
# It reads libyaml support from a file it writes beside each virtualenv it creates; ask instead.
sanity.check_sanity_virtualenv_yaml = yamlcheck
sys.argv[0] = "ansible-test"
main()
EOF
