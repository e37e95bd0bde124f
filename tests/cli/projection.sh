#!/bin/sh
# projection.sh: --run N --dry-run prints the projected cost (text and JSON) and spends nothing
# (no request, no cache, the session untouched); --run prints the projection before it starts and
# keeps it beside each phase's actual cost in --json; a run that gains nothing stops at
# --patience and says so ("stopped"); bad uses of the options are usage errors.  The projection
# is that of a model that is not local (an HTTP endpoint, never asked by a dry run: OA below);
# with the scripted model a dry run plays the run out instead (dryrun.sh).
. tests/cli/lib.inc
cp examples/hotpot-mini/* "$T/"
S="$T/session.json"
before=$(cksum <"$S")
OA="--provider openai --base-url http://127.0.0.1:9/v1 --model m"

case="--dry-run, text"
# shellcheck disable=SC2086
run --run 3 --dry-run $OA "$S"; expect_rc 0; expect_clean
expect_out "hotpot-mini: projected cost of 3 iterations"
expect_out "forward"
expect_out "selection"
expect_out "total"
expect_out "iteration 2      \$0.0000 to \$"
expect_out "low: nothing accepted, nothing left to fix"
expect_out "of the way to their projection, the odds a proposal is accepted (0 of 0 closed"
expect_out "projected, not simulated: step \"query\" asks model \"task\" (provider openai)"
[ "$(cksum <"$S")" = "$before" ] || fail "a dry run changed the session"
[ ! -e "$T/session.cache.jsonl" ] || fail "a dry run wrote the response cache"
[ ! -e "$T/session.spend.jsonl" ] || fail "a dry run journaled spend"

case="--dry-run, JSON"
# shellcheck disable=SC2086
run --run 2 --dry-run --json $OA "$S"; expect_rc 0; expect_clean
python3 - "$T/out" <<'PY' || fail "dry-run JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["dry_run"] is True and "iterations" not in r, r.keys()
p = r["projection"]
assert p["iterations"] == 2 and p["basis"] == "projected", p
assert "not simulated" in p["basis_note"], p
t = p["total"]
assert t["calls"] > 0 and t["tokens_in"] > 0 and t["tokens_out"] > 0 and t["cost_usd"] > 0, t
assert sum(x["calls"] for x in p["phases"].values()) == t["calls"], p
assert p["phases"]["forward"]["calls"] == 2 * 30 * 2, p["phases"]["forward"]  # 2 x batch x steps
# iteration 2 is a range named by its scenarios; iteration 1 is its point
its, rg = p["per_iteration"], p["range"]
assert len(its) == 2 and "nothing accepted" in p["scenarios"]["low"], p
assert "accepted" in p["scenarios"]["high"], p["scenarios"]
assert its[0]["low"] == its[0]["point"] == its[0]["high"], its[0]
assert its[1]["low"]["cost_usd"] <= its[1]["point"]["cost_usd"] <= its[1]["high"]["cost_usd"]
assert its[1]["low"]["cost_usd"] < its[1]["high"]["cost_usd"], its[1]
assert abs(rg["point"]["cost_usd"] - t["cost_usd"]) < 1e-9, rg
assert rg["point"]["calls"] == t["calls"], rg
for k in ("low", "point", "high"):
    assert abs(sum(i[k]["cost_usd"] for i in its) - rg[k]["cost_usd"]) < 1e-9, (k, rg)
assert "cap_note" not in p, p
# expected: later iterations at the odds of acceptance, one in two on a fresh session
x = p["expected"]
assert x["accepted"] == 0 and x["closed"] == 0 and x["accept_share"] == 0.5, x
assert abs(its[0]["expected_usd"] - its[0]["point"]["cost_usd"]) < 1e-12, its[0]
e1 = its[1]["low"]["cost_usd"] + 0.5 * (its[1]["point"]["cost_usd"] - its[1]["low"]["cost_usd"])
assert abs(its[1]["expected_usd"] - e1) < 1e-12, its[1]
assert abs(sum(i["expected_usd"] for i in its) - x["cost_usd"]) < 1e-12, x
assert abs(rg["expected_usd"] - x["cost_usd"]) < 1e-12, rg
PY
[ "$(cksum <"$S")" = "$before" ] || fail "a dry run changed the session"

case="--dry-run: the caps judged against the range"
python3 - "$S" "$T/capped.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s.setdefault("optimizer", {})["cost_cap_usd"] = 0.1
json.dump(s, open(sys.argv[2], "w"))
PY
# shellcheck disable=SC2086
run --run 3 --dry-run $OA "$T/capped.json"; expect_rc 0; expect_clean
expect_out "note: the cost cap of \$0.1000 would stop this run as projected"
# shellcheck disable=SC2086
run --run 1 --dry-run $OA "$T/capped.json"; expect_rc 0; expect_clean
grep -q "cost cap" "$T/out" && fail "one iteration within the cap was said to pass it"

case="--run: projected beside actual, patience"
run --run 6 --patience 1 --json "$S"; expect_rc 0; expect_clean
expect_err "hotpot-mini: projected cost of 6 iterations"
expect_err "adopt-tui: stopped: patience"
python3 - "$T/out" <<'PY' || fail "run JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["stopped"] == "patience", r["stopped"]
assert "without validation gain (patience 1)" in r["stopped_message"], r["stopped_message"]
its = r["iterations"]
assert 1 <= len(its) < 6, len(its)
fw = its[0]["cost_by_phase"]["forward"]
assert fw["projected"]["calls"] == fw["calls"] == 60, fw
assert fw["projected"]["tokens_in"] > 0 and fw["tokens_in"] > 0, fw
for it in its:
    for name, c in it["cost_by_phase"].items():
        for k in ("calls", "cached", "tokens_in", "tokens_out", "cost_usd"):
            assert k in c["projected"], (name, c)
PY
# the session keeps the projection beside the actual cost
python3 - "$S" <<'PY' || fail "history"
import json, sys
s = json.load(open(sys.argv[1]))
c = s["history"]["iterations"][0]["cost"]["forward"]
assert c["projected_calls"] == 60 and c["projected_tokens_in"] > 0, c
assert c["projected_tokens_out"] > 0 and c["projected_usd"] > 0, c
PY

case="expected: the odds of acceptance from the session's record"
# shellcheck disable=SC2086
run --run 3 --dry-run --json $OA "$S"; expect_rc 0; expect_clean
python3 - "$T/out" "$S" <<'PY' || fail "expected after a run"
import json, sys
x = json.load(open(sys.argv[1]))["projection"]["expected"]
h = json.load(open(sys.argv[2]))["history"]["iterations"]
took = sum(any(c.get("decision") in ("accepted", "edited") for c in i.get("changes", []))
           for i in h)
assert x["closed"] == len(h) >= 1 and x["accepted"] == took, (x, len(h), took)
assert abs(x["accept_share"] - (took + 1) / (len(h) + 2)) < 1e-12, x
PY

case="--run runs its course"
run --run 1 "$S"; expect_rc 0; expect_clean
expect_err "adopt-tui: stopped: iterations"

case="usage errors"
run --dry-run "$S"; expect_rc 2; expect_err "--dry-run goes with --run N"
run --run 2 --patience -1 "$S"; expect_rc 2; expect_err "--patience needs a count of iterations"
run --run 2 --patience lots "$S"; expect_rc 2
echo "ok projection"
