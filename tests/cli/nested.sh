#!/bin/sh
# nested.sh: datasets as they come: nested fields in templates ({{input.answers.text}},
# {{input.context[0]}}), HotpotQA's context as passages, golds under a path, a BBH-style object
# file through "key", and a template naming an unknown nested field (the error lists the fields).
. tests/cli/lib.inc
cat >"$T/data.json" <<'JSON'
{"canary": "not an example",
 "examples": [
  {"qid": "a1", "question": "Where?", "answers": [{"text": "Paris", "start": 3}, {"text": "paris"}],
   "meta": {"src": "wiki"}, "context": [["Paris", ["Paris is the capital of France.", " It is large."]], ["Lyon", ["Lyon is a city."]]]},
  {"qid": "a2", "question": "Who?", "answers": [{"text": "Ada"}],
   "context": [["Ada", ["Ada wrote programs."]]]}
 ]}
JSON
session() { # session TEMPLATE: a one-step template pipeline over data.json
	cat >"$T/s.json" <<JSON
{"format": "adopt-session", "version": 1, "models": {},
 "pipeline": {"steps": [{"id": "t", "type": "template", "template": "$1"}], "output": "t"},
 "dataset": {"answer_field": "answers.text", "id_field": "qid",
             "val": {"path": "data.json", "key": "examples"}},
 "metric": {"type": "exact_match"}}
JSON
}
case="context[0] and a nested field"
session "{{input.context[0]}} | {{input.meta.src}}"
run --check "$T/s.json"; expect_rc 0
expect_out "2 examples (train 0, val 2, test 0), metric exact_match"
run --eval --json "$T/s.json"; expect_rc 0
python3 - "$T/out" <<'PY' || fail "eval JSON"
import json, sys
r = json.load(open(sys.argv[1]))
e = r["examples"]
assert e[0]["id"] == "a1" and e[0]["gold"] == ["Paris", "paris"], e[0]
assert e[0]["prediction"] == "Paris: Paris is the capital of France. It is large. | wiki", e[0]
assert e[1]["prediction"] == "Ada: Ada wrote programs. | ", e[1]
PY
case="the gold under a path scores"
session "{{input.context[0]}}"
sed -i 's/"template": "{{input.context\[0\]}}"/"template": "Paris"/' "$T/s.json"
run --eval "$T/s.json"; expect_rc 0
expect_out "score 0.5000 (exact_match)   good 1  bad 1"
case="unknown nested field"
session "{{input.answers.nope}}"
run --check "$T/s.json"; expect_rc 2
expect_err "template uses unknown input field \"answers.nope\" (the dataset has: meta.src, qid, question, meta, context)"
echo "nested.sh: ok"
