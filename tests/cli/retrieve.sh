#!/bin/sh
# retrieve.sh: the retrieval-server form of the paper-hover recipe (session-server.json, a
# retrieve step with "url") end to end against the test server's GET /api/search (BM25 over a
# corpus invented here, as ColBERT's server answers): --check, --eval with the passages from the
# server, the same --eval replayed from the response cache with the server stopped (and
# --offline), and a hostile server whose answers fail the step with a clear error and cost
# nothing.
. tests/cli/lib.inc
. tests/cli/server.inc
mkdir -p "$T/data"
cp examples/paper-hover/session-server.json examples/paper-hover/rules.json "$T/"
S="$T/session-server.json"
cat >"$T/data/hover_dev_release_v1.1.json" <<'JSON'
[{"uid": "u1", "claim": "The painter Arvid Lennholm, who taught Mira Dalby, worked in oils before he took up etching in Tarnvik.", "supporting_facts": [["Arvid Lennholm", 0]], "label": "NOT_SUPPORTED", "num_hops": 3, "hpqa_id": "x"},
 {"uid": "u2", "claim": "The song Glass Harbour was recorded by the band Quiet Ferns.", "supporting_facts": [["Glass Harbour", 1]], "label": "SUPPORTED", "num_hops": 2, "hpqa_id": "y"},
 {"uid": "u3", "claim": "Tarnvik is a fishing town.", "supporting_facts": [["Tarnvik", 0]], "label": "SUPPORTED", "num_hops": 2, "hpqa_id": "z"}]
JSON
cat >"$T/corpus.jsonl" <<'JSON'
{"text": "Arvid Lennholm: a painter who worked in oils all his life."}
{"text": "Mira Dalby: an etcher who studied with Arvid Lennholm."}
{"text": "Glass Harbour: a song recorded by the band Quiet Ferns."}
{"text": "Tarnvik: a fishing town on a northern coast."}
{"text": "Quiet Ferns: a band of four musicians."}
JSON
# point_at URL: the session's retrieve step asks URL
point_at() {
	python3 - "$S" "$1" <<'PY' || fail "cannot edit the session"
import json, sys
s = json.load(open(sys.argv[1]))
[st] = [st for st in s["pipeline"]["steps"] if "url" in st]
st["url"] = sys.argv[2]
json.dump(s, open(sys.argv[1], "w"), indent=2)
PY
}
# search_stats: the search step's row of an --eval --json report in $T/out, as "runs errors cached"
search_stats() {
	python3 - "$T/out" <<'PY' || fail "eval JSON"
import json, sys
r = json.load(open(sys.argv[1]))
[st] = [st for st in r["steps"] if st["id"] == "search"]
assert st["kind"] == "retrieve" and st["tokens_in"] == 0 and st["cost_usd"] == 0, st
print(st["runs"], st["errors"], st["cached"], r["score"])
PY
}

stop_server() {
	kill "$server_pid" 2>/dev/null
	wait "$server_pid" 2>/dev/null
	server_pid=""
}

start_server --corpus "$T/corpus.jsonl"
point_at "$URL/api/search"
case="check"
run --check "$S"; expect_rc 0
expect_out "ok: 3 steps, 1 loops, 3 examples (train 3, val 0, test 0), metric choice"

case="eval from the server"
run --eval --split train --json "$S"; expect_rc 0
[ "$(search_stats)" = "9 0 6 0.6666666666666666" ] || fail "search step: $(search_stats)"
server_stats "$T/stats"
python3 - "$T/stats" <<'PY' || fail "server statistics"
import json, sys
st = json.load(open(sys.argv[1]))
assert st["endpoints"]["search"] == 3, st["endpoints"]   # one per claim; the rest cached
assert st["credentials"] == [], st["credentials"]
bodies = [r["body"] for r in st["recent"] if r["endpoint"] == "search"]
assert "query=Tarnvik is a fishing town.&k=5" in bodies, bodies
PY

case="replayed from the cache, server stopped"
stop_server
run --eval --split train --json "$S"; expect_rc 0
[ "$(search_stats)" = "9 0 9 0.6666666666666666" ] || fail "search step: $(search_stats)"
run --eval --split train --json --offline "$S"; expect_rc 0
[ "$(search_stats)" = "9 0 9 0.6666666666666666" ] || fail "search step: $(search_stats)"

case="hostile server"
start_server --corpus "$T/corpus.jsonl" --search-hostile 4
point_at "$URL/api/search"
run --eval --split train --no-cache "$S"; expect_clean; expect_rc 1
expect_out 'error in u1: step "search": colbertv2 invalid_answer: the answer has no "topk" list'
expect_out 'tokens in 192 out 48  cost $0.0001' # the retrievals bill nothing
expect_err "3 requests failed"
stop_server
case="escape sequences from the server"
start_server --corpus "$T/corpus.jsonl" --search-hostile 2
point_at "$URL/api/search"
run --eval --split train --no-cache --json "$S"; expect_clean; expect_rc 0
! grep -q "$(printf '\033')" "$T/out" || fail "an escape byte reached the output"

# the HotPotQA recipe's server form on the official file, when the shared data is there
DATA=""
for d in "${ADOPT_DATA_DIR:-}" ../shared/data ../../shared/data; do
	[ -n "$d" ] && [ -f "$d/hotpot_dev_distractor_first.json" ] && { DATA=$(cd "$d" && pwd); break; }
done
if [ -n "$DATA" ]; then
	mkdir -p "$T/hot"
	cp examples/paper-hotpotqa/session-server.json examples/paper-hotpotqa/rules.json "$T/hot/"
	ln -s "$DATA" "$T/hot/data"
	S="$T/hot/session-server.json"
	stop_server
	start_server --corpus "$T/corpus.jsonl"
	point_at "$URL/api/search"
	case="hotpotqa server check"; run --check "$S"; expect_rc 0
	expect_out "ok: 3 steps, 1 loops, 53 examples (train 20, val 20, test 13), metric hotpot_f1"
	case="hotpotqa server eval"; run --eval --limit 3 "$S"; expect_rc 0
	expect_out "score 0.0000 (hotpot_f1)   good 0  bad 3  errors 0"
else
	echo "retrieve.sh: the HotPotQA part skipped: no shared data (ADOPT_DATA_DIR, ../shared/data)"
fi
echo "retrieve.sh: ok"
