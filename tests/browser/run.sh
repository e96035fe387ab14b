#!/usr/bin/env bash
# Browser tests of the web app: the system Chromium (Debian's package) driven by Playwright for Python, against
# a real `emostream up` per test. Installs what is missing: chromium (apt-get), and a venv in .venv with the
# pinned Playwright and pytest. Needs the debug build (.build/debug/emostream); scripts/test.sh builds it.
#   tests/browser/run.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/../.."

PLAYWRIGHT_VERSION=1.65.2   # verified with Debian bookworm's chromium 156
PYTEST_VERSION=9.2.0

SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# chromium, and an emoji font so that screenshots show emojis rather than boxes.
if [ ! -x /usr/bin/chromium ] || [ ! -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ]; then
    echo "==> installing chromium and fonts-noto-color-emoji (Debian packages)"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium fonts-noto-color-emoji \
        || { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y chromium fonts-noto-color-emoji; }
fi

if ! .venv/bin/python -c "import playwright, pytest, sys; from importlib.metadata import version; \
sys.exit(version('playwright') != '$PLAYWRIGHT_VERSION')" 2>/dev/null; then
    echo "==> installing playwright $PLAYWRIGHT_VERSION and pytest into .venv"
    if ! python3 -m venv .venv; then
        # Debian's python3 keeps venv in a separate package.
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv \
            || { $SUDO apt-get update && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y python3-venv; }
        python3 -m venv .venv
    fi
    .venv/bin/pip install --quiet "playwright==$PLAYWRIGHT_VERSION" "pytest==$PYTEST_VERSION"
fi

[ -x .build/debug/emostream ] || { echo "build first: swift build"; exit 1; }
mkdir -p artifacts
exec .venv/bin/python -m pytest tests/browser -p no:cacheprovider -q "$@"
