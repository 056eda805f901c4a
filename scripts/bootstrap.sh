# Sourced by ./pay and ./test: finds uv, or installs it from PyPI into .tools/ on first use.
# Needs nothing but Python 3.11+.
ROOT=$(cd "$(dirname "$0")" && pwd)
if command -v uv >/dev/null 2>&1; then
    UV=$(command -v uv)
elif [ -x "$ROOT/.tools/bin/uv" ]; then
    UV="$ROOT/.tools/bin/uv"
else
    PYTHON=$(command -v python3 || command -v python)
    echo "Installing uv into $ROOT/.tools (first run only)…" >&2
    if "$PYTHON" -m venv "$ROOT/.tools" >/dev/null 2>&1 && "$ROOT/.tools/bin/python" -m pip --version >/dev/null 2>&1; then
        "$ROOT/.tools/bin/python" -m pip install --quiet --disable-pip-version-check uv
    else
        # No venv module (some distributions split it out): install the uv wheel into a plain folder.
        rm -rf "$ROOT/.tools"
        "$PYTHON" -m pip install --quiet --disable-pip-version-check --target "$ROOT/.tools" uv
    fi
    UV="$ROOT/.tools/bin/uv"
fi
export UV_PROJECT="$ROOT"
