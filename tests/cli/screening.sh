#!/bin/sh
# screening.sh: --run --json on hotpot-mini with optimizer.screen_size 2 (12 validation
# examples): the iteration says how selection screened (on 2 examples, how many configurations,
# how many ran in full, the requests saved, the rungs 2, 4, 12 with the configurations that ran
# on each); screen_size 0 turns it off and the key is absent.  Unset, it is 30 on a sample of 90
# examples (val.jsonl repeated under new ids) and off on the 12 of hotpot-mini.
. tests/cli/lib.inc
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
python3 - "$T/session.json" <<'PY'
import json, sys
p = sys.argv[1]
s = json.load(open(p))
for n, name in ((2, "on.json"), (0, "off.json")):
    s["optimizer"]["screen_size"] = n
    s["optimizer"]["val_size"] = 12
    json.dump(s, open(p.replace("session.json", name), "w"), indent=1)
s["optimizer"].pop("screen_size")
json.dump(s, open(p.replace("session.json", "unset12.json"), "w"), indent=1)
s["optimizer"]["val_size"] = 90
s["dataset"]["val"] = "val90.jsonl"
json.dump(s, open(p.replace("session.json", "unset90.json"), "w"), indent=1)
val = [json.loads(l) for l in open(p.replace("session.json", "val.jsonl"))]
with open(p.replace("session.json", "val90.jsonl"), "w") as f:
    for k in range(90):
        e = dict(val[k % len(val)], id="v%d" % k)
        f.write(json.dumps(e) + "\n")
PY
case="on"; run --run 1 --json "$T/on.json"; expect_rc 0; expect_clean
python3 - "$T/out" <<'PY' || fail "no screening record"
import json, sys
it = json.load(open(sys.argv[1]))["iterations"][-1]
sc = it["screening"]
assert sc["examples"] == 2, sc
assert sc["configurations"] >= sc["in_full"] >= 1, sc
assert sc["in_full"] == it["evaluations"], (sc, it["evaluations"])
assert sc["requests_saved"] >= 0, sc
rungs = sc["rungs"]
assert [r["examples"] for r in rungs] == [2, 4, 12], rungs
ran = [r["configurations"] for r in rungs]
assert ran[0] == sc["configurations"] and ran == sorted(ran, reverse=True), rungs
assert ran[-1] == sc["in_full"], rungs
PY
case="off"; run --run 1 --json "$T/off.json"; expect_rc 0; expect_clean
python3 -c 'import json,sys
assert "screening" not in json.load(open(sys.argv[1]))["iterations"][-1]' "$T/out" ||
	fail "screening reported with screen_size 0"
case="unset, 12 examples"; run --run 1 --json "$T/unset12.json"; expect_rc 0; expect_clean
python3 -c 'import json,sys
assert "screening" not in json.load(open(sys.argv[1]))["iterations"][-1]' "$T/out" ||
	fail "screening on 12 examples with screen_size unset"
case="unset, 90 examples"; run --run 1 --json "$T/unset90.json"; expect_rc 0; expect_clean
python3 -c 'import json,sys
sc = json.load(open(sys.argv[1]))["iterations"][-1]["screening"]
assert sc["examples"] == 30, sc' "$T/out" ||
	fail "screen_size unset: not 30 of 90"
exit 0
