#!/bin/sh
# ablations.sh: --run N --compare-ablations on hotpot-mini (scripted model): one row per variant
# in the default order, all from the same start, each ablation visible in its calls per phase
# (gradient=global: no E2, no E5), the test score with --final-test, a text table; a chosen
# list; the session file left byte for byte as it was; bad lists and a missing --run refused
# (exit 2) before anything runs.
. tests/cli/lib.inc
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
cp "$T/session.json" "$T/before.json"

case="json"; run --run 2 --compare-ablations --final-test --json "$T/session.json"
expect_rc 0; expect_clean
cmp -s "$T/session.json" "$T/before.json" || fail "the session file was changed"
python3 - "$T/out" <<'PY' || fail "variant rows"
import json, sys
r = json.load(open(sys.argv[1]))
v = r["variants"]
names = [x["variant"] for x in v]
assert names == ["adopt", "allocation=uniform", "gradient=global", "selection=per_step"], names
assert r["iterations"] == 2 and r["scripted_model"] is True
for x in v:
    assert x["completed"] and x["iterations_run"] == 2, x
    assert x["val_before"] == v[0]["val_before"], "not the same start"
    assert 0 <= x["val_after"] <= 1 and 0 <= x["test"] <= 1
    assert x["llm_calls"] == x["cached"] + x["paid_calls"]
    assert x["tokens_used"] == x["tokens_in"] + x["tokens_out"] + x["tokens_reused"]
    assert x["wall_s"] >= 0 and x["cost_usd"] >= 0
a, g = v[0]["calls_by_phase"], v[2]["calls_by_phase"]
# gradient=global: E1 alone in the analysis (once per iteration), no local gradients
assert g["analysis"] == 2 and g["local gradients"] == 0, g
assert a["analysis"] > 2 and a["local gradients"] > 0, a
assert g["forward"] == a["forward"] and g["loss+gradient"] == a["loss+gradient"]
# the first variant paid, the others found the calls they share in the cache
assert v[0]["paid_calls"] > 0 and v[1]["cached"] > 0
PY

case="text"; run --run 1 --compare-ablations "$T/session.json"; expect_rc 0; expect_clean
expect_out "1 iteration per variant, each from the same start  [scripted model]"
expect_out "val before"
rows=$(grep -cE '^(adopt|allocation=uniform|gradient=global|selection=per_step) ' "$T/out")
[ "$rows" -eq 4 ] || fail "$rows variant rows, want 4"

case="list"; run --run 1 --compare-ablations=adopt,gradient=global+selection=per_step --json \
	"$T/session.json"
expect_rc 0; expect_clean
python3 -c 'import json,sys
v = json.load(open(sys.argv[1]))["variants"]
assert [x["variant"] for x in v] == ["adopt", "gradient=global+selection=per_step"], v' "$T/out" ||
	fail "chosen list"
cmp -s "$T/session.json" "$T/before.json" || fail "the session file was changed"

case="bad value"; run --run 1 --compare-ablations=gradient=local "$T/session.json"
expect_rc 2; expect_clean; expect_no_out
expect_err '--compare-ablations: "gradient" is "decomposed" or "global", not "local"'
case="bad key"; run --run 1 --compare-ablations=adopt,speed=fast "$T/session.json"
expect_rc 2; expect_err 'unknown ablation "speed"'
case="twice"; run --run 1 --compare-ablations=adopt,adopt "$T/session.json"
expect_rc 2; expect_err '"adopt" is listed twice'
case="no run"; run --compare-ablations "$T/session.json"
expect_rc 2; expect_err "--compare-ablations goes with --run N"
exit 0
