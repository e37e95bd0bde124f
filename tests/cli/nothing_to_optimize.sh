#!/bin/sh
# nothing_to_optimize.sh: a pipeline without a learnable prompt (examples/capitals: retrieve,
# regex, template) says so before anything is spent: --run exits 1 with that reason (not an
# unrelated one about the role model), writes nothing and makes no cache; the workbench says it
# on opening and when asked to run.  Nothing answered, nothing cached: no empty cache file.
. tests/cli/lib.inc
cp -r examples/capitals "$T/c"
cp "$T/c/session.json" "$T/before.json"
case="--run"
run --run 1 "$T/c/session.json"
expect_clean; expect_rc 1
expect_err "nothing to optimize: no step has a learnable prompt"
! grep -q "role_model" "$T/err" || fail "an unrelated reason"
cmp -s "$T/c/session.json" "$T/before.json" || fail "the session changed"
[ ! -e "$T/c/session.cache.jsonl" ] || fail "a cache file was made"
case="workbench"
(cd "$T/c" && printf ':save-display open.txt\nkey r\n:save-display r.txt\nkey q\n' >"$T/script" &&
	ADOPT_TEST_SCREEN=120x30 ADOPT_TEST_SCRIPT="$T/script" "$ADOPT_BIN" session.json) \
	</dev/null >"$T/out" 2>"$T/err"
rc=$?
expect_clean; expect_rc 0
grep -qF "nothing to optimize" "$T/c/open.txt" || fail "not said on opening"
grep -qF "nothing to optimize" "$T/c/r.txt" || fail "not said on r"
grep -qF "it 1" "$T/c/r.txt" && fail "an iteration started"
cmp -s "$T/c/session.json" "$T/before.json" || fail "the session changed"
case="--eval without a model call"
run --eval "$T/c/session.json"
expect_clean; expect_rc 0
[ ! -e "$T/c/session.cache.jsonl" ] || fail "an empty cache file was made"
case="the first answer makes the cache"
cp -r examples/hotpot-mini "$T/h"
run --eval --limit 1 "$T/h/session.json"
expect_clean; expect_rc 0
[ -s "$T/h/session.cache.jsonl" ] || fail "no cache after an answer"
exit 0
