#!/bin/sh
# export.sh: --export after --run 2 on hotpot-mini: one file per llm step whose text is exactly
# the session's prompt, the prompts.json bundle (round-trips to the same prompts, demos,
# versions and scores as the session's history), --export - on stdout, and refusals: a
# symbolic link planted where a file goes, a target that is not a directory.
. tests/cli/lib.inc
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$T/"
run --run 2 "$T/session.json"; expect_rc 0

case="files"; run --export "$T/exp" "$T/session.json"; expect_rc 0; expect_clean
expect_err "files written to $T/exp"
python3 - "$T/session.json" "$T/exp" <<'PY' || fail "exported files"
import json, os, sys
s = json.load(open(sys.argv[1])); d = sys.argv[2]
b = json.load(open(os.path.join(d, "prompts.json")))
assert b["format"] == "adopt-prompts" and b["version"] == 1, b
assert b["session"] == s["name"] and b["scripted_model"] is True, b
assert b["date"].endswith("Z") and b["iterations"] == 2, b
llm = [st for st in s["pipeline"]["steps"] if st.get("type", "llm") == "llm"]
assert list(b["steps"]) == [st["id"] for st in llm], b["steps"].keys()
vers = s["history"]["versions"]
for st in llm:
    e = b["steps"][st["id"]]
    text = open(os.path.join(d, e["file"]), encoding="utf-8", newline="").read()
    assert text == st["prompt"] == e["prompt"], (st["id"], text)
    assert e["demos"] == st.get("demos", []), e
    last = max((v for v in vers if v["step"] == st["id"]), key=lambda v: v["version"])
    assert e["version"] == last["version"] and e["version"] >= 1, (e, last)
    want = last["score"] if last["score"] >= 0 else None
    assert e["validation_score"] == want, (e, last)
PY

case="stdout"; run --export - "$T/session.json"; expect_rc 0; expect_clean
python3 - "$T/out" "$T/exp/prompts.json" <<'PY' || fail "--export - differs"
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
a.pop("date"); b.pop("date")
assert a == b, (a, b)
PY

case="symlink planted"; mkdir "$T/trap"; ln -s "$T/victim" "$T/trap/query.txt"
run --export "$T/trap" "$T/session.json"; expect_rc 1; expect_clean
expect_err "query.txt"
[ ! -e "$T/victim" ] || fail "wrote through the symbolic link"
[ ! -e "$T/trap/prompts.json" ] || fail "a bundle beside a failed export"

case="not a directory"; : >"$T/plain"
run --export "$T/plain" "$T/session.json"; expect_rc 1; expect_err "$T/plain: not a directory"

case="invalid session"; echo '{' >"$T/bad.json"
run --export "$T/x" "$T/bad.json"; expect_rc 2; expect_clean; expect_err "bad.json:"
exit 0
