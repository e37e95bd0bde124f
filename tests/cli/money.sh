#!/bin/sh
# money.sh: --eval --json against the test LLM server ($LLM_SERVER; skipped when missing) through
# --provider/--base-url/--model: provider-cached prompt tokens billed at their own price, a
# refused request billed, and a replay from the response cache that reports the tokens reused
# and costs nothing.
. tests/cli/lib.inc
: "${LLM_SERVER:=$PWD/build/tests/llm-server}"
[ -x "$LLM_SERVER" ] || { echo "money.sh: no test LLM server at $LLM_SERVER: skipped"; exit 0; }
cp examples/hotpot-mini/* "$T/"
unset OPENAI_API_KEY OPENAI_BASE_URL
"$LLM_SERVER" --cached-tokens 8 >"$T/port" 2>"$T/server.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$T"' EXIT INT TERM
for _ in 1 2 3 4 5 6 7 8 9 10; do
	grep -q '^PORT=' "$T/port" 2>/dev/null && break
	sleep 0.2
done
port=$(sed -n 's/^PORT=//p' "$T/port")
[ -n "$port" ] || fail "the test server did not start"
url="http://127.0.0.1:$port"
over="--provider openai --base-url $url/v1 --model gpt-4o-mini"

case="cached prompt tokens"
# shellcheck disable=SC2086
run --eval --json --limit 2 $over "$T/session.json"; expect_clean
[ "$rc" -le 1 ] || fail "exit status $rc"
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
n = t["requests"]
assert n > 0 and t["failed"] == 0, t
assert t["tokens_prompt_cached"] == 8 * n, t      # every prompt is longer than 8 tokens
assert t["tokens_reasoning"] == 0 and t["estimated_requests"] == 0, t
# the session's prices (0.15 / 0.60); cached input at gpt-4o-mini's ratio, 0.5
want = ((t["tokens_in"] - 8 * n) * 0.15 + 8 * n * 0.075 + t["tokens_out"] * 0.60) / 1e6
assert abs(t["cost_usd"] - want) < 1e-12, (t["cost_usd"], want)
assert sum(s["tokens_prompt_cached"] for s in r["steps"]) == 8 * n, r["steps"]
PY

case="replay from the response cache"
# shellcheck disable=SC2086
run --eval --json --limit 2 --offline $over "$T/session.json"; expect_clean
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
t = json.load(open(sys.argv[1]))["totals"]
assert t["requests"] == 0 and t["cost_usd"] == 0 and t["tokens_in"] == 0, t
assert t["tokens_prompt_cached"] == 0 and t["tokens_reused"] > 0, t
PY

case="refusals are billed"
python3 - "$url" <<'PY' || fail "cannot set the server up"
import sys, urllib.request
urllib.request.urlopen(sys.argv[1] + "/_control", b'{"refusal": true, "cached_tokens": 0}')
PY
# shellcheck disable=SC2086
run --eval --json --limit 2 --no-cache $over "$T/session.json"; expect_clean
[ "$rc" -le 1 ] || fail "exit status $rc"
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
assert t["failed"] > 0 and t["billed_failures"] == t["failed"], t
assert t["tokens_in"] > 0 and t["tokens_out"] > 0 and t["cost_usd"] > 0, t
assert t["estimated_requests"] == 0, t
assert any("refused" in e.get("error", "") for e in r["examples"]), r["examples"]
PY
exit 0
