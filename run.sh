#!/usr/bin/env bash
# The main job in one command: environment, database, demo users and incidents, dashboard on :8000.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "Creating the virtual environment in .venv …"
    "$PY" -m venv .venv || { echo "python3 -m venv failed: install your distribution's python3-venv package" >&2; exit 1; }
fi
if ! .venv/bin/python -c "import deltatrace, django, daphne" 2>/dev/null || [ pyproject.toml -nt .venv/.installed ] \
    || ! .venv/bin/python -c "import deltatrace.accel as a, sys; sys.exit(bool(a.stale_sources('.')))"; then
    echo "Installing DeltaTrace and its dependencies (first run takes a minute or two: it compiles the hot cores) …"
    .venv/bin/python -m pip install --quiet --upgrade pip
    # setuptools tells every editable install that same-named folders may shadow the package:
    # that is how this checkout is meant to be used, so the note is only noise here.
    PYTHONWARNINGS="ignore:Editable installation" .venv/bin/python -m pip install --quiet -e .
    touch .venv/.installed
fi
exec .venv/bin/deltatrace demo "$@"
