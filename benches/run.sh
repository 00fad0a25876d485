#!/usr/bin/env bash
# One command for the parse benchmarks: makes the inputs (once), runs the criterion bench of
# this crate and its peers on all of them, and prints the README's results table.
# Extra arguments go to criterion (a filter such as `small`, or `--quick`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash benches/make_inputs.sh
cargo bench --features tokio --bench parse -- "$@"
python3 benches/report.py
