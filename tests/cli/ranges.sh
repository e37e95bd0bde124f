#!/bin/sh
# ranges.sh: numbers out of range in a session or a response cache are reported with their
# position and never converted: a history iteration numbered 1e300, a negative spend, a
# cache line with "in": 1e30 (once reported as tokens_cached -9.2e18, now tokens_reused).
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null 2>&1 || { echo "ranges.sh: python3 is missing: skipping"; exit 0; }
DATA=$(cd "$(dirname "$0")/../data/engine" && pwd)
for f in one.json rules.json train.jsonl val.jsonl; do cp "$DATA/$f" "$T/$f"; done

# put_history JSON: one.json with this history section
put_history() {
	python3 - "$T/one.json" "$T/s.json" "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["history"] = json.loads(sys.argv[3])
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
}

case="iteration 1e300"
put_history '{"iterations": [{"number": 1e300}], "spent": {"cost_usd": -2, "calls": 3}}'
run --check "$T/s.json"
expect_rc 2
expect_clean
expect_err "s.json:"
expect_err "history.iterations[0].number must be a whole number between 1 and 1000000 (got 1e+300)"
expect_err "history.spent.cost_usd must be between 0 and 1000000000000 (got -2)"
run --run 1 "$T/s.json"
expect_rc 2
expect_err "history.iterations[0].number must be a whole number"

case="in range"
put_history '{"iterations": [{"number": 41}], "spent": {"cost_usd": 2, "calls": 3}}'
run --check "$T/s.json"
expect_rc 0
expect_clean

case="cache line out of range"
cp "$T/one.json" "$T/c.json"
run --eval --json "$T/c.json"
expect_rc 0
expect_clean
[ -s "$T/c.cache.jsonl" ] || fail "no cache written"
# every answer's input tokens become 1e30 on the first line, -5 on the second
python3 - "$T/c.cache.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines[0]["in"] = 1e30
lines[1]["out"] = -5
open(sys.argv[1], "w").write("".join(json.dumps(l) + "\n" for l in lines))
PY
run --eval --json "$T/c.json"
expect_rc 0
expect_clean
expect_err "c.cache.jsonl:1: \"in\" must be a whole number between 0 and 1e+15 (got 1e+30); line skipped (2 line(s) skipped in all)"
python3 - "$T/out" <<'PY' || fail "tokens out of range reached the report"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert 0 <= t["tokens_reused"] < 10**9 and 0 <= t["tokens_prompt_cached"] < 10**9, t
assert t["llm_calls"] == 6 and t["cached"] == 4, t  # the two skipped ones asked again
PY

case="cache line out of range, written as adopt-tui writes it (checked when read)"
rm -f "$T/c.cache.jsonl"
run --eval --json "$T/c.json"
expect_rc 0
python3 - "$T/c.cache.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines[0]["in"] = 1e30
lines[1]["out"] = -5
open(sys.argv[1], "w").write("".join(json.dumps(l, separators=(",", ":")) + "\n"
                                     for l in lines))
PY
run --eval --json "$T/c.json"
expect_rc 0
expect_clean
expect_err "response cache: 2 line(s) proved corrupt when read and were asked again"
python3 - "$T/out" <<'PY' || fail "a corrupt line read back reached the report"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert 0 <= t["tokens_reused"] < 10**9 and 0 <= t["tokens_prompt_cached"] < 10**9, t
assert t["llm_calls"] == 6 and t["cached"] == 4, t
PY
exit 0
