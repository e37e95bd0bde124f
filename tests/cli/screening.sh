#!/bin/sh
# screening.sh: --run --json on hotpot-mini with optimizer.screen_size 2 (12 validation
# examples): the iteration says how selection screened (on 2 examples, how many configurations,
# how many ran in full, the requests saved); screen_size 0 turns it off and the key is absent.
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
PY
case="off"; run --run 1 --json "$T/off.json"; expect_rc 0; expect_clean
python3 -c 'import json,sys
assert "screening" not in json.load(open(sys.argv[1]))["iterations"][-1]' "$T/out" ||
	fail "screening reported with screen_size 0"
exit 0
