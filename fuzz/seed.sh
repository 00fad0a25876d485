#!/usr/bin/env bash
# Builds the seed corpus of every fuzz target from the project's own testdata/ and, when it is
# there, the shared corpus ($KVS_TESTDATA, else ../../shared/testdata; files under 4 MB): whole
# files, their documents one by one, and short cuts. The corpus directories are not committed.
set -euo pipefail
cd "$(dirname "$0")"
for target in one_shot chunked fragments elements; do
  mkdir -p "corpus/$target"
done
python3 - <<'PY'
import os, glob
seeds = {}
shared = os.environ.get("KVS_TESTDATA") or "../../shared/testdata"
paths = sorted(glob.glob("../testdata/*.mkv"))
for ext in ["mkv", "mka", "webm"]:
    paths += sorted(p for p in glob.glob(f"{shared}/**/*.{ext}", recursive=True) if os.path.getsize(p) < 4 << 20)
for path in paths:
    data = open(path, "rb").read()
    name = os.path.relpath(path, "..").replace("/", "_").lstrip("._")
    seeds[name] = data
    # Each EBML document on its own, and the first bytes of each.
    starts = [i for i in range(len(data)) if data.startswith(b"\x1a\x45\xdf\xa3", i)] + [len(data)]
    for k, (a, b) in enumerate(zip(starts, starts[1:])):
        seeds[f"{name}.doc{k}"] = data[a:b]
        seeds[f"{name}.doc{k}.head"] = data[a:a + 1200]
    seeds[f"{name}.tail"] = data[-3000:]
for target in ["one_shot", "fragments", "elements", "chunked"]:
    for name, data in seeds.items():
        # The chunked target reads piece sizes from its first bytes.
        body = bytes([3, 7, 1, 200]) + data if target == "chunked" else data
        open(f"corpus/{target}/{name}", "wb").write(body)
print(f"{len(seeds)} seeds per target")
PY
