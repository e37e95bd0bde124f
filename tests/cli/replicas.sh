#!/bin/sh
# replicas.sh: a model whose base_url lists two replicas, one of them refusing connections
# (nothing listens on its port), against the test LLM server ($LLM_SERVER): --eval --json answers
# everything through the other and reports both replicas' figures; --check reports a bad list
# (empty, not a string) at its position in the file.
. tests/cli/lib.inc
. tests/cli/server.inc
cp examples/hotpot-mini/* "$T/"
unset OPENAI_API_KEY OPENAI_BASE_URL
start_server --latency-ms 5
dead=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 - "$T/session.json" "$URL/v1" "http://127.0.0.1:$dead/v1" <<'PY'
import json, sys
path, good, dead = sys.argv[1:]
s = json.load(open(path))
s["models"]["task"] = {"provider": "openai", "model": "gpt-4o-mini", "base_url": [dead, good],
                       "price_in": 0.15, "price_out": 0.6, "concurrency": 2}
json.dump(s, open(path, "w"), indent=1)
PY

case="one replica refusing"
run --eval --json --limit 4 "$T/session.json"; expect_clean; expect_rc 0
python3 - "$T/out" "$URL/v1" "$dead" <<'PY' || fail "JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
t = r["totals"]
assert t["failed"] == 0 and t["requests"] > 0, t
reps = r["replicas"]
assert [x["model"] for x in reps] == ["task", "task"], reps
dead, good = reps
assert good["url"] == sys.argv[2] and sys.argv[3] in dead["url"], reps
assert dead["requests"] >= 1 and dead["errors"] == dead["requests"], dead
assert dead["answered"] == 0 and dead["state"] in ("down", "probing"), dead
assert good["errors"] == 0 and good["state"] == "up" and good["mean_latency_s"] > 0, good
assert good["answered"] == good["requests"] and good["in_flight"] == 0, good
assert dead["requests"] + good["requests"] == t["requests"], (reps, t)
PY
server_stats "$T/stats"
python3 - "$T/stats" "$T/out" <<'PY' || fail "server statistics"
import json, sys
st, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert st["requests"] == r["replicas"][1]["requests"], (st["requests"], r["replicas"])
PY

case="one URL: no replica figures"
run --eval --json --limit 1 --no-cache --base-url "$URL/v1" "$T/session.json"; expect_clean
expect_rc 0
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert "replicas" not in r, r' \
	"$T/out" || fail "replicas reported for one base_url"

case="bad lists"
python3 - "$T/session.json" "$T/bad.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["models"]["task"]["base_url"] = []
s["models"]["optimizer"] = {"provider": "openai", "model": "m", "base_url": ["http://a/v1", 3]}
json.dump(s, open(sys.argv[2], "w"), indent=1)
PY
run --check "$T/bad.json"; expect_clean; expect_rc 2
line=$(grep -n '"base_url": \[\]' "$T/bad.json" | cut -d: -f1)
expect_err "bad.json:$line:"
expect_err "model \"task\": models.task.base_url lists 0 URLs (give 1 to 16)"
expect_err "model \"optimizer\": models.optimizer.base_url[1] must be a string"
exit 0
