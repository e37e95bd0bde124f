#!/bin/sh
# eval.sh: --eval on the capitals example (code steps only, no model): the text report, the
# JSON report (parsed with python3), --split and --limit.
. tests/cli/lib.inc
cp examples/capitals/session.json examples/capitals/*.jsonl "$T/"

case="text"; run --eval "$T/session.json"; expect_rc 0; expect_clean
expect_out "capitals: split val, 8 examples"
expect_out "score 1.0000 (exact_match)   good 8  bad 0  errors 0"
for step in retrieve extract answer; do
	grep -qE "^  $step +[a-z]+ +8 +0 " "$T/out" || fail "no row for step $step with 8 runs"
done

case="json"; run --eval --json "$T/session.json"; expect_rc 0; expect_clean
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["split"] == "val" and r["metric"] == "exact_match", r
assert r["examples_count"] == 8 and len(r["examples"]) == 8, r["examples_count"]
assert r["score"] == 1.0 and r["good"] == 8 and r["bad"] == 0, r
ex = {e["id"]: e for e in r["examples"]}
assert ex["q13"]["prediction"] == "Stockholm" and ex["q13"]["gold"] == ["Stockholm"], ex["q13"]
assert [s["id"] for s in r["steps"]] == ["retrieve", "extract", "answer"], r["steps"]
assert all(s["runs"] == 8 and s["errors"] == 0 for s in r["steps"]), r["steps"]
assert r["totals"]["requests"] == 0 and r["totals"]["cost_usd"] == 0, r["totals"]
PY

case="split test"; run --eval -j --split test "$T/session.json"; expect_rc 0
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["split"]=="test" and r["examples_count"]==4 and [e["id"] for e in r["examples"]]==["q21","q22","q23","q24"], r' "$T/out" \
	|| fail "--split test"
case="split train, limit 5"; run --eval --json --split train --limit 5 "$T/session.json"; expect_rc 0
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["split"]=="train" and r["examples_count"]==5 and r["examples"][0]["id"]=="q1", r' "$T/out" \
	|| fail "--split train --limit 5"
case="limit text"; run --eval -s test -n 2 "$T/session.json"; expect_rc 0
expect_out "capitals: split test, 2 examples"
# --limit 0 is a usage error that says how many there are, not "the split has no examples"
case="limit 0"; run --eval --limit 0 "$T/session.json"; expect_rc 2
expect_err "--limit 0 leaves nothing to evaluate (the val split has 8 examples)"

# a split with no examples is an error, not a score of nothing
sed 's/"test": \[/"unused": [/' "$T/session.json" >"$T/notest.json"
case="empty split"; run --eval --split test "$T/notest.json"; expect_rc 1; expect_clean
expect_err "adopt-tui: $T/notest.json: the test split has no examples"
exit 0
