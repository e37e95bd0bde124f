#!/bin/sh
# exit_status.sh: what --eval and --run tell a script: exit 1 when a request failed for good
# (the report still printed, with the failures), --min-score gating with exit 4, the provider's
# error type printed once, and "scripted_model" for a scripted judge.  Against the test LLM
# server answering from the chain5 example's rules.
. tests/cli/lib.inc
. tests/cli/server.inc
cp examples/chain5/* "$T/"
start_server --rules "$T/rules.json" --require-key sk-test-good-0123456789
S="$T/session.json"
OA="--provider openai --base-url $URL/v1 --model m"

case="bad key: exit 1, report printed, type once"
OPENAI_API_KEY=sk-test-wrong-0123456789 run --eval --limit 2 $OA "$S"; expect_rc 1; expect_clean
expect_out "chain5: split val, 2 examples"
expect_out "errors 2"
expect_out 'openai 401 invalid_api_key: Incorrect API key provided.'
! grep -q 'invalid_api_key: invalid_api_key' "$T/out" || fail "the error type is printed twice"
expect_err "2 requests failed; exit status 1"

case="bad key, JSON report"
OPENAI_API_KEY=sk-test-wrong-0123456789 run --eval --json --limit 2 $OA "$S"; expect_rc 1
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["totals"]["failed"] == 2, r["totals"]
assert all("invalid_api_key: Incorrect API key" in e["error"] for e in r["examples"]), r
PY

case="good key: exit 0"
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --limit 2 --min-score 1 $OA "$S"
expect_rc 0; expect_out "score 1.0000"

case="--min-score above the score: exit 4"
# one of the first four validation examples gets the wrong label: score 0.75
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --limit 4 --min-score 0.99 $OA "$S"
expect_rc 4; expect_out "score 0.7500"; expect_err "score 0.7500 is below --min-score 0.99; exit status 4"
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --limit 4 --min-score 0.75 $OA "$S"
expect_rc 0

case="--min-score, --run"
OPENAI_API_KEY=sk-test-good-0123456789 run --run 1 --json --min-score 0 $OA "$S"; expect_rc 0
OPENAI_API_KEY=sk-test-good-0123456789 run --run 1 --json --min-score 1 $OA "$S"; expect_clean
python3 - "$T/out" "$rc" <<'PY' || fail "--run --min-score 1"
import json, sys
r = json.load(open(sys.argv[1]))
val = max(r["iterations"][-1]["val_before"], r["iterations"][-1]["val_best"])
assert int(sys.argv[2]) == (4 if val < 1 else 0), (val, sys.argv[2])
PY

case="bad option value"
run --eval --min-score 2 "$S"; expect_rc 2; expect_err "--min-score needs a score from 0 to 1"

case="scripted judge is labelled"
cat >"$T/judge.json" <<'J'
{"rules": [{"match": "(?s).*", "reply": "score: 1"}]}
J
python3 - "$S" "$URL" <<'PY' >"$T/judged.json" || fail "writing the judged session"
import json, sys
s = json.load(open(sys.argv[1]))
url = sys.argv[2]
s["models"] = {"task": {"provider": "openai", "base_url": url + "/v1", "model": "m"},
               "judge": {"provider": "scripted", "rules": "judge.json"}}
s["optimizer"]["role_model"] = "task"
s["metric"] = {"type": "llm_judge", "model": "judge"}
print(json.dumps(s))
PY
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --json --limit 2 "$T/judged.json"
expect_rc 0
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["scripted_model"] is True, r["scripted_model"]; assert r["score"] == 1.0, r["score"]' "$T/out" \
	|| fail "scripted judge not labelled"
exit 0
