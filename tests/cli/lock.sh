#!/bin/sh
# lock.sh: one writer per session.  While another process holds the session's lock (here
# flock(1) on the side file, with an owner line as adopt-tui writes it), --run and the
# workbench refuse with a message naming the owner and change nothing (no session rewrite, no
# cache file); --check, --eval and --read-only still work; the lock file goes when its writer
# ends, and a lock file left behind (a crash) locks nothing.
. tests/cli/lib.inc
cp -r examples/hotpot-mini "$T/s"
S="$T/s/session.json"
L="$T/s/.session.json.lock"
cp "$S" "$T/before.json"
echo "4242 otherhost" > "$L"

# locked RUN...: runs adopt-tui while the lock is held by another process
locked() {
	timeout 60 flock -n "$L" "$ADOPT_BIN" "$@" </dev/null >"$T/out" 2>"$T/err"
	rc=$?
}

case="--run while locked"
locked --run 1 "$S"
expect_clean; expect_rc 1
expect_err "is open for writing by another adopt-tui (pid 4242 on otherhost)"
expect_err "nothing was changed"
cmp -s "$S" "$T/before.json" || fail "the session changed"
[ ! -e "$T/s/session.cache.jsonl" ] || fail "a cache file was made"

case="workbench while locked"
(cd "$T/s" && printf 'key w\nkey q\n' >"$T/script" &&
	ADOPT_TEST_SCREEN=80x24 ADOPT_TEST_SCRIPT="$T/script" \
	timeout 60 flock -n "$L" "$ADOPT_BIN" session.json) </dev/null >"$T/out" 2>"$T/err"
rc=$?
expect_clean; expect_rc 1
expect_err "pid 4242 on otherhost"
cmp -s "$S" "$T/before.json" || fail "the session changed"

case="readers while locked"
locked --check "$S"; expect_rc 0
locked --eval --limit 2 "$S"; expect_clean; expect_rc 0; expect_out "score"
printf '%s\n' ":save-display ro.txt" "key w" ":save-display ro-w.txt" ":saveas ./session.json" \
	":save-display ro-as.txt" "key q" >"$T/script"
(cd "$T/s" &&
	ADOPT_TEST_SCREEN=100x30 ADOPT_TEST_SCRIPT="$T/script" \
	timeout 60 flock -n "$L" "$ADOPT_BIN" --read-only session.json) </dev/null >"$T/out" 2>"$T/err"
rc=$?
expect_clean; expect_rc 0
grep -qF "READ-ONLY" "$T/s/ro.txt" || fail "the read-only workbench does not say so"
grep -qF "is not saved" "$T/s/ro-w.txt" || fail "w in read-only mode did not say it saves nothing"
grep -qF "opened read-only" "$T/s/ro-as.txt" || fail ":saveas under another name of the same file"
cmp -s "$S" "$T/before.json" || fail "the session changed"

case="lock file left behind"
[ -e "$L" ] || fail "the lock file is gone"
run --run 1 "$S"
expect_clean; expect_rc 0
[ ! -e "$L" ] || fail "the lock file stayed after the writer ended"
grep -q '"history"' "$S" || fail "the run saved nothing"
exit 0
