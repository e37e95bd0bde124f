#!/bin/sh
# finish.sh: answers cut by the token limit, against the test LLM server ($LLM_SERVER; skipped
# when missing): --eval --json marks each cut example and counts cut answers per step, the text
# report says so; with "cut_is_error": true the cut answers are the step's errors; a tool call
# without text is an error that says so, after one request; an analysis role never reads a cut
# answer unless its model says "cut_is_error": false.
. tests/cli/lib.inc
: "${LLM_SERVER:=$PWD/build/tests/llm-server}"
[ -x "$LLM_SERVER" ] || { echo "finish.sh: no test LLM server at $LLM_SERVER: skipped"; exit 0; }
"$LLM_SERVER" >"$T/port" 2>"$T/server.err" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$T"' EXIT INT TERM
i=0
while ! grep -q '^PORT=' "$T/port" 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 100 ] || fail "the test server did not start"; sleep 0.05
done
port=$(sed -n 's/^PORT=//p' "$T/port")
# http METHOD PATH [BODY]: the server's control endpoints (python3: no curl needed)
http() {
	python3 -c 'import sys, urllib.request as u
b = sys.argv[3].encode() if len(sys.argv) > 3 else None
print(u.urlopen(u.Request(sys.argv[2], data=b, method=sys.argv[1]), timeout=5).read().decode())' \
		"$1" "http://127.0.0.1:$port$2" "${3-}"
}
control() { http POST /_control "$1" >/dev/null; }
stat() { http GET /_stats | python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# session: one LLM step that echoes the question (the server answers "echo: <prompt>"); the
# model's max_tokens (MAXTOK) cuts the long questions only (4 bytes a token)
cat >"$T/session.tpl" <<JSON
{"format": "adopt-session", "version": 1, "name": "finish",
 "models": {"task": {"provider": "openai", "base_url": "http://127.0.0.1:$port/v1",
                     "model": "test-model", "max_tokens": MAXTOK CUTERR}},
 "pipeline": {"steps": [{"id": "answer", "type": "llm", "model": "task",
                         "prompt": "{{input.question}}"}], "output": "answer"},
 "metric": {"type": "exact_match"},
 "dataset": {"val": [
   {"id": "short", "question": "hi", "answer": "echo: hi"},
   {"id": "long", "question": "a question whose answer runs past the limit", "answer": "x"}]}}
JSON
sed 's/MAXTOK/5/; s/ CUTERR//' "$T/session.tpl" >"$T/s.json"

case="cut marked"; run --eval --json --no-cache "$T/s.json"; expect_clean
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
ex = {e["id"]: e for e in r["examples"]}
assert "cut" not in ex["short"], ex["short"]
assert ex["long"]["cut"] == ["answer"], ex["long"]
assert ex["long"]["prediction"] == "echo: a question who", ex["long"]
assert "error" not in ex["long"], ex["long"]
st = r["steps"][0]
assert st["cut"] == 1 and st["errors"] == 0, st
PY

case="cut text"; run --eval --no-cache "$T/s.json"; expect_clean
expect_out "1 answers cut by the token limit"

sed 's/MAXTOK/5/; s/ CUTERR/, "cut_is_error": true/' "$T/session.tpl" >"$T/s.json"
case="cut is an error"; run --eval --json --no-cache "$T/s.json"; expect_clean
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
ex = {e["id"]: e for e in r["examples"]}
assert ex["long"]["cut"] == ["answer"], ex["long"]
assert "answer cut by the token limit" in ex["long"]["error"], ex["long"]
assert "error" not in ex["short"], ex["short"]
st = r["steps"][0]
assert st["cut"] == 1 and st["errors"] == 1, st
PY

sed 's/MAXTOK/200/; s/ CUTERR//' "$T/session.tpl" >"$T/s.json"
control '{"tool_call": true}'
http POST /_reset "" >/dev/null
case="tool call"; run --eval --json --no-cache "$T/s.json"; expect_clean
python3 - "$T/out" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
for e in r["examples"]:
    assert "called a tool instead of answering" in e["error"], e
assert r["steps"][0]["errors"] == 2, r["steps"]
PY
[ "$(stat '["requests"]')" = 2 ] || fail "a tool call was retried: $(stat '["requests"]') requests"
control '{"tool_call": false}'

# the analysis roles on the server (answers "echo: ...", cut at 5 tokens), the steps scripted
mkdir "$T/chain5"
cp examples/chain5/* "$T/chain5/"
roles() {
	python3 - "$T/chain5/session.json" "$port" "$1" <<'PY'
import json, sys
path, port, cut = sys.argv[1], sys.argv[2], sys.argv[3]
s = json.load(open(path))
m = {"provider": "openai", "base_url": "http://127.0.0.1:%s/v1" % port, "model": "m",
     "max_tokens": 5}
if cut != "default":
    m["cut_is_error"] = cut == "true"
s["models"]["optimizer"] = m
json.dump(s, open(path, "w"))
PY
}
roles default
case="role cut"; run --run 1 --no-cache "$T/chain5/session.json"; expect_clean
expect_err 'role answer cut by the token limit (finish reason "length"): raise max_tokens'
expect_err 'of model "optimizer"'
roles false
case="role cut allowed"; run --run 1 --no-cache "$T/chain5/session.json"; expect_clean
grep -q "role answer cut" "$T/err" && fail "cut_is_error false still refused the cut answer"
expect_err "iteration 1: analysis done"
exit 0
