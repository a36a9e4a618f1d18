#!/usr/bin/env bash
# Every test and the packaging checks, on a fresh machine with only python3.
#   ./test.sh                 the whole suite, lint, migrations check, build + clean-install check
#   ./test.sh tests/ingest    just those tests (extra arguments go to pytest)
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    "$PY" -m venv .venv
fi
# (Re)install when something is missing, the dependencies changed, or a compiled core's source was
# edited since it was compiled (the install compiles them in place: see deltatrace/accel.py).
if ! .venv/bin/python -c "import deltatrace, pytest_django, hypothesis, playwright, build" 2>/dev/null \
    || [ pyproject.toml -nt .venv/.installed-test ] || [ setup.py -nt .venv/.installed-test ] \
    || ! .venv/bin/python -c "import deltatrace.accel as a, sys; sys.exit(bool(a.stale_sources('.')))"; then
    echo "== installing DeltaTrace with its test dependencies"
    .venv/bin/python -m pip install --quiet --upgrade pip
    # setuptools tells every editable install that same-named folders may shadow the package:
    # that is how this checkout is meant to be used, so the note is only noise here.
    PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet -e ".[test]"
    touch .venv/.installed-test
fi

# Tests get a data directory of their own, never the demo's.
export DELTATRACE_HOME=${DELTATRACE_HOME:-$PWD/var/test-home}
mkdir -p "$DELTATRACE_HOME"

if [ $# -gt 0 ]; then
    exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
fi

echo "== lint (ruff)"
.venv/bin/python -m ruff check .
.venv/bin/python -m ruff format --check . >/dev/null || { .venv/bin/python -m ruff format --check .; exit 1; }

echo "== types (mypy: strict on the pure cores)"
.venv/bin/python -m mypy

echo "== migrations are complete"
.venv/bin/python manage.py makemigrations --check --dry-run >/dev/null || {
    .venv/bin/python manage.py makemigrations --check --dry-run; exit 1; }

echo "== deploy checks"
DELTATRACE_HTTPS=1 DELTATRACE_SECRET_KEY="$(.venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(60))')" \
    .venv/bin/python manage.py check --deploy --fail-level WARNING

echo "== tests"
.venv/bin/python -m pytest -p no:cacheprovider -n 2 --dist loadfile

echo "== packaging"
rm -rf dist
.venv/bin/python -m build --outdir dist . >/dev/null
.venv/bin/python -m twine check --strict dist/*
version=$(sed -n 's/^version = "\(.*\)"/\1/p' READY_TO_PUBLISH)
meta=$(.venv/bin/python -c "import tomllib; print(tomllib.load(open('pyproject.toml','rb'))['project']['version'])")
[ "$version" = "$meta" ] || { echo "READY_TO_PUBLISH says $version but pyproject.toml says $meta" >&2; exit 1; }
wheel=$(ls dist/deltatrace-"$version"-*.whl 2>/dev/null | head -n1)
[ -n "$wheel" ] || { echo "wheel for $version not built" >&2; exit 1; }
clean=$(mktemp -d)
trap 'rm -rf "$clean"' EXIT
"$PY" -m venv "$clean/venv"
"$clean/venv/bin/python" -m pip install --quiet "$wheel"
(cd "$clean" && DELTATRACE_HOME="$clean/home" "$clean/venv/bin/deltatrace" --help >/dev/null)
(cd "$clean" && DELTATRACE_HOME="$clean/home" "$clean/venv/bin/deltatrace" migrate -v0 \
    && DELTATRACE_HOME="$clean/home" "$clean/venv/bin/deltatrace" simulate --scenario calm --seed 1 \
        --out "$clean/sim" --ingest --incident calm >/dev/null \
    && DELTATRACE_HOME="$clean/home" "$clean/venv/bin/python" - <<'PY'
# The installed wheel finds its templates and static files: pages render, plotly.js is served.
import os
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "deltatrace.settings"
django.setup()
from django.contrib.auth.models import User
from django.test import Client
c = Client()
assert c.get("/login/").status_code == 200
User.objects.create_superuser("pkg", password="pkg-check-1")
c.login(username="pkg", password="pkg-check-1")
page = c.get("/incidents/1/")
assert page.status_code == 200 and b"Timeline" in page.content, page.status_code
assert c.get("/static/plotly/plotly.min.js").status_code == 200
# ... and runs its hot cores compiled, as built.
from deltatrace import accel
assert set(accel.status().values()) == {"compiled"}, accel.status()
PY
)
echo "== all checks passed (version $version)"
