#!/bin/sh
# dryrun.sh: with the scripted model, --run N --dry-run plays the run out in a sandbox and says
# so ("simulated with the scripted model: exact"): its JSON holds per iteration and phase what
# --run N then spends (calls, cached, tokens, money), it writes nothing (the session
# byte-identical, no cache, no journal, no lock, no other file), a cap stops it as it stops the
# run; a pipeline that would ask a retrieval server is projected instead, and says why.
. tests/cli/lib.inc
command -v python3 >/dev/null 2>&1 || { echo "dryrun.sh: python3 is missing: skipping"; exit 0; }
cp examples/hotpot-mini/* "$T/"
S="$T/session.json"
before=$(cksum <"$S")
files=$(ls -a "$T")

case="--run 3 --dry-run, text"
run --run 3 --dry-run "$S"; expect_rc 0; expect_clean
expect_out "hotpot-mini: cost of 3 iterations, simulated with the scripted model: exact"
expect_out "iteration 1 ("
expect_out "iteration 3 ("
expect_out "iteration total"
expect_out "(projected by the rules, not simulating: \$"
grep -q "low: nothing accepted" "$T/out" && fail "a simulated dry run printed the projection's range"

case="--run 3 --dry-run --json, shape"
run --run 3 --dry-run --json "$S"; expect_rc 0; expect_clean
cp "$T/out" "$T/dry.json"
[ "$(cksum <"$S")" = "$before" ] || fail "a dry run changed the session"
[ "$(ls -a "$T" | grep -v '^out$\|^err$\|^dry.json$')" = "$files" ] ||
	fail "a dry run left a file: $(ls -a "$T")"
python3 - "$T/dry.json" <<'PY' || fail "dry-run JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dry_run"] is True and r["scripted_model"] is True and "iterations" not in r, r.keys()
p = r["projection"]
assert p["basis"] == "simulated", p["basis"]
assert p["basis_note"] == "simulated with the scripted model: exact", p["basis_note"]
assert p["iterations"] == 3 and p["stopped"] == "iterations", p
its = p["per_iteration"]
assert [i["number"] for i in its] == [1, 2, 3], its
keys = {"calls", "cached", "tokens_in", "tokens_out", "cost_usd"}
for i in its:
    assert i["low"] == i["point"] == i["high"], i  # exact: no range
    assert set(i["phases"]) == set(p["phases"]) and "selection" in i["phases"], i["phases"]
    for name, c in i["phases"].items():
        assert set(c) == keys, (name, c)
    for k in keys:
        assert abs(sum(c[k] for c in i["phases"].values()) - i["point"][k]) < 1e-9, (k, i)
for k in keys:
    assert abs(sum(i["point"][k] for i in its) - p["total"][k]) < 1e-9, k
    assert abs(sum(c[k] for c in p["phases"].values()) - p["total"][k]) < 1e-9, k
assert p["range"]["low"] == p["range"]["high"] == p["total"], p["range"]
assert its[0]["phases"]["forward"]["calls"] == 60, its[0]  # 30 examples x 2 llm steps
assert p["total"]["cost_usd"] > 0 and "scenarios" not in p, p
e = p["estimate"]  # the rules' projection, beside it
assert "scenarios" in e and e["total"]["calls"] > 0 and len(e["per_iteration"]) == 3, e.keys()
PY

case="--run 3 spends what the dry run said"
run --run 3 --json "$S"; expect_rc 0; expect_clean
python3 - "$T/dry.json" "$T/out" <<'PY' || fail "dry run against the run"
import json, sys
p = json.load(open(sys.argv[1]))["projection"]
r = json.load(open(sys.argv[2]))
assert [i["number"] for i in r["iterations"]] == [i["number"] for i in p["per_iteration"]]
for d, a in zip(p["per_iteration"], r["iterations"]):
    for name, c in d["phases"].items():
        got = a["cost_by_phase"][name]
        for k in c:
            assert abs(c[k] - got[k]) < 1e-12, (d["number"], name, k, c[k], got[k])
assert abs(p["total"]["cost_usd"] - r["totals"]["cost_usd"]) < 1e-12
assert p["total"]["calls"] == r["totals"]["llm_calls"], (p["total"], r["totals"])
PY

case="the cache beside the session, read only"
cp "$S" "$T/again.json"
cp "$T/session.cache.jsonl" "$T/again.cache.jsonl"
cache=$(cksum <"$T/again.cache.jsonl")
run --run 1 --dry-run --json "$T/again.json"; expect_rc 0; expect_clean
[ "$(cksum <"$T/again.cache.jsonl")" = "$cache" ] || fail "a dry run wrote the response cache"
[ ! -e "$T/again.spend.jsonl" ] || fail "a dry run journaled spend"
python3 - "$T/out" <<'PY' || fail "cache hits"
import json, sys
p = json.load(open(sys.argv[1]))["projection"]
assert p["basis"] == "simulated" and p["total"]["cached"] > 0, p["total"]
PY

case="a cost cap stops the simulated run as it stops the run"
python3 - "$T/again.json" "$T/capped.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s.pop("history", None); s.pop("state", None)
s.setdefault("optimizer", {})["cost_cap_usd"] = 0.07
json.dump(s, open(sys.argv[2], "w"))
PY
run --run 3 --dry-run --json "$T/capped.json"; expect_rc 0; expect_clean
cp "$T/out" "$T/dry.json"
run --run 3 --json "$T/capped.json"; expect_rc 0; expect_clean
python3 - "$T/dry.json" "$T/out" <<'PY' || fail "capped"
import json, sys
p = json.load(open(sys.argv[1]))["projection"]
r = json.load(open(sys.argv[2]))
assert p["stopped"] == r["stopped"] == "cost_cap", (p["stopped"], r["stopped"])
assert "budget cap" in p["stopped_message"], p["stopped_message"]
assert len(p["per_iteration"]) == len(r["iterations"]), (p, len(r["iterations"]))
assert abs(p["total"]["cost_usd"] - r["totals"]["cost_usd"]) < 1e-12
PY
run --run 3 --dry-run "$T/capped.json"; expect_rc 0; expect_clean
expect_out "the run would stop after"

case="a retrieval server is never simulated"
python3 - "$S" "$T/url.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s.pop("history", None); s.pop("state", None)
st = s["pipeline"]["steps"][1]
del st["corpus"]
st["url"] = "http://127.0.0.1:9/api/search"
json.dump(s, open(sys.argv[2], "w"))
PY
run --run 2 --dry-run --json "$T/url.json"; expect_rc 0; expect_clean
python3 - "$T/out" <<'PY' || fail "url"
import json, sys
p = json.load(open(sys.argv[1]))["projection"]
assert p["basis"] == "projected", p["basis"]
assert "retrieve step \"retrieve\" asks a retrieval server" in p["basis_note"], p["basis_note"]
assert "scenarios" in p and "estimate" not in p, p.keys()
PY
echo "ok dryrun"
