#!/bin/sh
# final_test.sh: --run --final-test on hotpot-mini: the test score of the final prompts, equal
# to --eval --split test's, in --run --json, in the text summary and in the report (summary,
# scores table, chart); a run without it reports none; a session without test examples is
# refused before anything runs (exit 2).
. tests/cli/lib.inc
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
sed 's/"test": /"unused": /' "$T/session.json" >"$T/notest.json"

case="json"; run --run 2 --final-test --json "$T/session.json"; expect_rc 0; expect_clean
cp "$T/out" "$T/run.json"
run --eval --split test --json "$T/session.json"; expect_rc 0
python3 - "$T/run.json" "$T/out" <<'PY' || fail "final test score"
import json, sys
r, e = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
ft = r["final_test"]
assert ft["score"] == e["score"] and ft["examples"] == e["examples_count"] == 8, (ft, e)
assert ft["iteration"] == 2 and ft["date"].endswith("Z"), ft
PY
case="report"; run --report "$T/r.md" "$T/session.json"; expect_rc 0
score=$(python3 -c 'import json,sys
print("%.4f" % json.load(open(sys.argv[1]))["final_test"]["score"])' "$T/run.json")
want="Test score of the prompts after iteration 2, on 8 held-out examples never used for"
grep -qF "$want selection: $score." "$T/r.md" ||
	fail "report summary lacks the test score"
grep -qE "^\| 2 \|( [^|]+ \|){6} $score \|" "$T/r.md" || fail "scores table lacks the test score"
run --report "$T/r.html" "$T/session.json"; expect_rc 0
grep -q '<svg class="chart" id="chart-scores" data-points="7"' "$T/r.html" ||
	fail "scores chart lacks the test point"

case="text"; run --run 1 --final-test "$T/session.json"; expect_rc 0
expect_out "test score of the final prompts"
case="without"; run --run 1 --json "$T/session.json"; expect_rc 0
python3 -c 'import json,sys; assert "final_test" not in json.load(open(sys.argv[1]))' "$T/out" ||
	fail "a run without --final-test reports a test score"
case="no test split"; run --run 1 --final-test "$T/notest.json"; expect_rc 2; expect_clean
expect_err "notest.json: --final-test: the session has no test examples"
! grep -q '"history"' "$T/notest.json" || fail "ran before refusing"
exit 0
