#!/usr/bin/env bash
# Starts the fake E2B on a free port and drives it with the official Python
# SDK (tests/sdk/python_sdk_smoke.py). Optional, not part of CI: it needs
# `pip install e2b` and bubblewrap.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -q -p hero-tests --bin fake-e2b
target_dir="${CARGO_TARGET_DIR:-target}"
output="$(mktemp)"
"$target_dir/debug/fake-e2b" --port 0 --api-key e2b_smoke >"$output" &
fake_pid=$!
trap 'kill "$fake_pid" 2>/dev/null || true; rm -f "$output"' EXIT

for _ in $(seq 100); do
    [ -s "$output" ] && break
    sleep 0.1
done
url="$(head -n 1 "$output")"
[ -n "$url" ] || { echo "the fake did not start" >&2; exit 1; }

E2B_API_KEY=e2b_smoke E2B_API_URL="$url" E2B_SANDBOX_URL="$url" \
    python3 tests/sdk/python_sdk_smoke.py
