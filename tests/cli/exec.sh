#!/bin/sh
# exec.sh: an exec step runs only with --trust; without it every example fails with a clear
# refusal in its trace error (and nothing is run).
. tests/cli/lib.inc
cat >"$T/exec.json" <<JSON
{
  "format": "adopt-session",
  "version": 1,
  "models": {},
  "pipeline": {"steps": [
    {"id": "q", "type": "template", "template": "{{input.word}}"},
    {"id": "shout", "type": "exec", "command": ["sh", "-c", "touch '$T/ran'; tr a-z A-Z"],
     "input": "{{steps.q}}"}
  ]},
  "dataset": {"val": [{"word": "paris", "answer": "PARIS"}, {"word": "rome", "answer": "ROME"}]},
  "metric": {"type": "exact_match"}
}
JSON
case="check"; run --check "$T/exec.json"; expect_rc 0

case="untrusted"; run --eval --json "$T/exec.json"; expect_clean
[ ! -e "$T/ran" ] || fail "the command ran without --trust"
python3 - "$T/out" <<'PY' || fail "untrusted JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["score"] == 0 and r["good"] == 0, r
for e in r["examples"]:
    assert 'step "shout" runs the command "sh"; refusing without --trust' in e["error"], e
PY
case="untrusted text"; run --eval "$T/exec.json"; expect_clean
expect_out "errors 2"
expect_out "refusing without --trust"

case="trusted"; run --eval --json --trust "$T/exec.json"; expect_rc 0; expect_clean
[ -e "$T/ran" ] || fail "the command did not run with --trust"
python3 - "$T/out" <<'PY' || fail "trusted JSON report"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["score"] == 1 and r["good"] == 2, r
assert [e["prediction"] for e in r["examples"]] == ["PARIS", "ROME"], r["examples"]
assert not any("error" in e for e in r["examples"]), r["examples"]
PY
exit 0
