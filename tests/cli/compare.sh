#!/bin/sh
# compare.sh: --compare on hotpot-mini.  Two sessions (the example as shipped and a copy after
# --run 2): the flipped examples listed are exactly those whose --eval scores differ, the
# scores are --eval's; two versions of one session (@v1, @iteration:K): a comparison repeated
# costs $0 from the response cache; the text form; bad input, each a clear message and exit 2:
# an unknown version or iteration, a malformed version, sessions with different pipelines, a
# split that has no examples.
. tests/cli/lib.inc
mkdir "$T/orig" "$T/ran"
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/orig/"
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/ran/"
# versions differ in their prompts only (--compare takes the current demonstrations): the
# instruct optimizer, which keeps them
sed -i 's/"step_optimizer": "joint"/"step_optimizer": "instruct"/' "$T/orig/session.json" \
	"$T/ran/session.json"
run --run 2 "$T/ran/session.json"; expect_rc 0
run --eval --json "$T/orig/session.json"; expect_rc 0; cp "$T/out" "$T/eval_a.json"
run --eval --json "$T/ran/session.json"; expect_rc 0; cp "$T/out" "$T/eval_b.json"

case="two sessions"; run --compare "$T/orig/session.json" "$T/ran/session.json" --json
expect_rc 0; expect_clean
python3 - "$T/out" "$T/eval_a.json" "$T/eval_b.json" <<'PY' || fail "flipped examples"
import json, sys
c = json.load(open(sys.argv[1]))
a = {e["id"]: e["score"] for e in json.load(open(sys.argv[2]))["examples"]}
b = {e["id"]: e["score"] for e in json.load(open(sys.argv[3]))["examples"]}
ex = c["examples"]; assert [e["id"] for e in ex] == list(a), ex
flipped = {e["id"] for e in ex if e["change"] != "unchanged"}
assert flipped == {i for i in a if a[i] != b[i]} and flipped, flipped
for e in ex:
    assert e["a_score"] == a[e["id"]] and e["b_score"] == b[e["id"]], e
    x, y = a[e["id"]], b[e["id"]]
    want = "fixed" if y > x else "broken" if y < x else "unchanged"
    assert e["change"] == want, e
    if e["change"] != "unchanged":
        assert e["steps"] and all(s["a"] != s["b"] for s in e["steps"]), e
assert c["fixed"] + c["broken"] == len(flipped), c
assert abs(c["difference"] - (c["b"]["score"] - c["a"]["score"])) < 1e-12, c
assert c["ci95"]["low"] <= c["difference"] <= c["ci95"]["high"], c
assert c["significant"] == (c["ci95"]["low"] > 0 or c["ci95"]["high"] < 0), c
PY

case="versions, repeated from the cache"; rm -f "$T/ran/session.cache.jsonl"
run --compare "$T/ran/session.json@v1" "$T/ran/session.json@iteration:2" --json; expect_rc 0
python3 - "$T/out" <<'PY' || fail "the first comparison should pay"
import json, sys
c = json.load(open(sys.argv[1])); assert c["a"]["requests"] > 0 and c["a"]["cost_usd"] > 0, c
PY
cp "$T/out" "$T/first.json"
run --compare "$T/ran/session.json@v1" "$T/ran/session.json@iteration:2" --json; expect_rc 0
python3 - "$T/first.json" "$T/out" <<'PY' || fail "repeated comparison"
import json, sys
f, c = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
for k in "ab":
    assert c[k]["cost_usd"] == 0 and c[k]["requests"] == 0 and c[k]["cached"] > 0, c[k]
    assert c[k]["score"] == f[k]["score"], (f[k], c[k])
assert c["examples"] == f["examples"] and c["ci95"] == f["ci95"], "differs"
PY

case="text"; run --compare "$T/ran/session.json@iteration:0" "$T/ran/session.json"; expect_rc 0
expect_out "compare on split val, 12 examples, metric f1"
expect_out "(paired bootstrap, 2000 resamples)"
grep -qE "^  fixed h[0-9]+: " "$T/out" || fail "no fixed example listed"

case="unknown version"; run --compare "$T/ran/session.json@v99" "$T/ran/session.json"
expect_rc 2; expect_clean
expect_err "session.json@v99: no prompt version v99 in $T/ran/session.json"
case="unknown iteration"; run --compare "$T/ran/session.json@iteration:7" "$T/ran/session.json"
expect_rc 2; expect_err "no iteration 7 in $T/ran/session.json (it has 2;"
case="malformed version"; run --compare "$T/ran/session.json@latest" "$T/ran/session.json"
expect_rc 2; expect_err "a version is @vN (a prompt version) or @iteration:K"
case="different pipelines"; cp examples/capitals/session.json examples/capitals/*.jsonl "$T/"
run --compare "$T/session.json" "$T/ran/session.json"; expect_rc 2; expect_clean
expect_err "have different pipelines"
case="no such split"; sed 's/"test": /"unused": /' "$T/ran/session.json" >"$T/ran/notest.json"
run --compare "$T/ran/notest.json" "$T/ran/session.json" --split test; expect_rc 2
expect_err "notest.json: the test split has no examples"
exit 0
