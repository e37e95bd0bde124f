# replicas.sh: the workbench on a session whose task model lists two replicas, one refusing
# connections, against the test LLM server ($LLM_SERVER; skipped when missing): after the
# forward pass, :cost counts the replicas up and out and :cost replicas shows each one's
# figures on the message line.
. tests/screen/lib.inc
: "${LLM_SERVER:=$PWD/build/tests/llm-server}"
[ -x "$LLM_SERVER" ] || { echo "replicas.sh: no test LLM server at $LLM_SERVER: skipped"; exit 0; }
example hotpot-mini
"$LLM_SERVER" --latency-ms 5 >"$TMP/port" 2>"$TMP/server.err" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do
	grep -q '^PORT=' "$TMP/port" 2>/dev/null && break
	sleep 0.1
done
port=$(sed -n 's/^PORT=//p' "$TMP/port")
[ -n "$port" ] || { echo "FAIL: the test server did not start" >&2; exit 1; }
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
unset OPENAI_API_KEY OPENAI_BASE_URL
python3 - "$SESSION" "http://127.0.0.1:$port/v1" "http://127.0.0.1:$dead/v1" <<'PY'
import json, sys
path, good, dead = sys.argv[1:]
s = json.load(open(path))
s["models"]["task"] = {"provider": "openai", "model": "gpt-4o-mini", "base_url": [dead, good],
                       "price_in": 0.15, "price_out": 0.6, "concurrency": 2}
json.dump(s, open(path, "w"), indent=1)
PY
screen 200x30 <<'SCRIPT'
key s
wait-idle
:cost
:save-display rep-cost.txt
:cost replicas
:save-display rep-each.txt
:cost nonsense
:save-display rep-bad.txt
key q
SCRIPT
contains rep-cost "; replicas 1 up, 1 out (:cost replicas)"
contains rep-each "task#1 http://127.0.0.1:$dead/v1 down"
contains rep-each "task#2 http://127.0.0.1:$port/v1 up:"
grep -q "task#2 [^;]* up: [1-9][0-9]* req, 0 err, 0 in flight, [0-9]* ms" "$OUT/rep-each.txt" ||
	fail "rep-each: no figures for the answering replica"
contains rep-bad "error: :cost takes no argument but \"replicas\""
finish
