#!/bin/sh
# check.sh: --check on a valid session (0), an invalid one (2, every problem with its
# position), and on paths that are no session file.
. tests/cli/lib.inc

case="valid"; run --check examples/capitals/session.json; expect_rc 0; expect_clean
expect_out "examples/capitals/session.json: ok: 3 steps, 0 loops, 24 examples (train 12, val 8, test 4), metric exact_match"
case="valid, short"; run -c examples/capitals/session.json; expect_rc 0

# an eval_budget below the optimizable steps + 2: loads, with a warning at the value
cp -r examples/chain5 "$T/chain5"
sed 's/"eval_budget": 6/"eval_budget": 3/' examples/chain5/session.json >"$T/chain5/session.json"
case="small eval_budget"; run --check "$T/chain5/session.json"; expect_rc 0; expect_clean
expect_err "adopt-tui: warning: $T/chain5/session.json:58:20: optimizer.eval_budget 3 is below the 2 steps + 2: some steps are never evaluated alone and the search never runs (default here: 12)"
case="enough eval_budget"; run --check examples/chain5/session.json; expect_rc 0
! grep -q eval_budget "$T/err" || fail "warned about a sufficient eval_budget"

cat >"$T/bad.json" <<'JSON'
{
  "format": "adopt-session",
  "version": 1,
  "models": {"task": {"provider": "openai", "model": "m", "api_key": "sk-NEVER-PRINTED"}},
  "pipeline": {
    "steps": [
      {"id": "q", "type": "template", "template": "{{input.question}} {{steps.nope}}"},
      {"id": "answer", "prompt": "{{steps.q}} {{passage}}", "parse": "(unclosed"},
      {"id": "q", "type": "regex", "source": "{{steps.answer}}", "pattern": "x"}
    ]
  },
  "dataset": {"val": [{"question": "a?", "answer": "b"}], "train": "missing.jsonl"},
  "metric": {"type": "f1"}
}
JSON
case="invalid"; run --check "$T/bad.json"; expect_rc 2; expect_clean; expect_no_out
expect_err "$T/bad.json:4:70: model \"task\": an API key must never be stored in the session"
expect_err "$T/bad.json:12:68: dataset.train: $T/missing.jsonl: cannot open: No such file or directory"
expect_err "$T/bad.json:9:14: duplicate step id \"q\""
expect_err "$T/bad.json:7:51: step \"q\": template uses unknown step \"nope\""
expect_err "$T/bad.json:8:34: step \"answer\": template uses unknown input \"passage\""
expect_err "$T/bad.json:8:70: step \"answer\": parse: invalid regex \"(unclosed\": missing closing parenthesis"
expect_err "6 problems"
! grep -q "sk-NEVER-PRINTED" "$T/err" || fail "the API key was printed"

printf '{\n  "format": "adopt-session",\n  "version": 1,\n  "models": {' >"$T/trunc.json"
case="truncated"; run --check "$T/trunc.json"; expect_rc 2; expect_err_lines 1
expect_err "$T/trunc.json:4:14: unexpected end of file (expected a '\"' to start a key) (invalid JSON)"

printf '\177ELF\002\001\000\000garbage' >"$T/garbage.json"
case="binary"; run --check "$T/garbage.json"; expect_rc 2; expect_clean
expect_err "$T/garbage.json: binary data (a NUL byte) where a JSON session file was expected"

printf '{"pipeline": {"steps": [{"id": "a", "template": "x {{y"}]}}' >"$T/unclosed.json"
case="unclosed"; run --check "$T/unclosed.json"; expect_rc 2
expect_err "step \"a\": \"prompt\" is required"

# over the 256 MiB limit (a sparse file: refused from its size, before anything is read)
truncate -s 300M "$T/huge.json"
case="huge"; run --check "$T/huge.json"; expect_rc 2; expect_clean; expect_err_lines 1
expect_err "$T/huge.json: file is 314572800 bytes, larger than the limit of 268435456"
rm -f "$T/huge.json"

case="missing file"; run --check "$T/does-not-exist.json"; expect_rc 2; expect_no_out
expect_err "$T/does-not-exist.json: cannot open: No such file or directory"
case="missing file, eval"; run --eval "$T/does-not-exist.json"; expect_rc 2
expect_err "cannot open: No such file or directory"

mkdir "$T/dir.json"
case="directory"; run --check "$T/dir.json"; expect_rc 2; expect_clean
expect_err "$T/dir.json: not a regular file"
case="directory, workbench"; run "$T/dir.json"; expect_clean
[ "$rc" -ne 0 ] || fail "a directory opened as a session"
exit 0
