#!/bin/sh
# bundle.sh: a session bundle from a stranger reaches nothing outside what it names: a response
# cache that links elsewhere is refused (its target unchanged), a FIFO or /dev/zero as data or
# corpus gives a message at once, a rules file that is not one fails --check without being
# quoted, a FIFO as the lock file is refused, a symlinked session is saved to its target with
# the link kept, and the temp file of a killed save is removed at the next open.
. tests/cli/lib.inc

B="$T/b"
mkdir "$B"
cp examples/hotpot-mini/*.json examples/hotpot-mini/*.jsonl "$B"/

# sed-like edit of one string value in the session: set KEY OLD NEW (a plain text replace)
set_value() {
	sed "s#\"$1\": *\"$2\"#\"$1\": \"$3\"#" "$B/session.json" >"$B/$4"
}

case="symlinked cache"
printf 'export A=1\n' >"$T/profile"
ln -s "$T/profile" "$B/session.cache.jsonl"
run --eval --limit 2 "$B/session.json"; expect_rc 1; expect_clean
expect_err "$B/session.cache.jsonl: a symbolic link: refusing to write through it"
[ "$(cat "$T/profile")" = "export A=1" ] || fail "the link's target changed"
rm "$B/session.cache.jsonl"

# (a FIFO would block an open(2) without O_NONBLOCK forever: the timeout is generous on
# purpose; the test is that it ends with the message at all)
mkfifo "$B/fifo.jsonl"
case="FIFO as data"; set_value train train.jsonl fifo.jsonl fifo.json
timeout 20 "$ADOPT_BIN" --check "$B/fifo.json" </dev/null >"$T/out" 2>"$T/err"; rc=$?
expect_rc 2; expect_err "fifo.jsonl: not a regular file (a FIFO)"
case="FIFO as corpus"; set_value corpus corpus.jsonl fifo.jsonl fifoc.json
timeout 20 "$ADOPT_BIN" --check "$B/fifoc.json" </dev/null >"$T/out" 2>"$T/err"; rc=$?
expect_rc 2; expect_err "fifo.jsonl: not a regular file (a FIFO)"
case="/dev/zero as corpus"; set_value corpus corpus.jsonl /dev/zero zero.json
timeout 20 "$ADOPT_BIN" --check "$B/zero.json" </dev/null >"$T/out" 2>"$T/err"; rc=$?
expect_rc 2; expect_err "/dev/zero: not a regular file (a character device)"
case="/dev/zero as data"; set_value train train.jsonl /dev/zero zerod.json
timeout 20 "$ADOPT_BIN" --check "$B/zerod.json" </dev/null >"$T/out" 2>"$T/err"; rc=$?
expect_rc 2; expect_err "/dev/zero: not a regular file (a character device)"

case="rules that are not a rules file"
printf 'root:x:0:0:SECRET-LINE:/root:/bin/sh\n' >"$B/passwd"
set_value rules rules.json passwd pw.json
run --check "$B/pw.json"; expect_rc 2; expect_clean; expect_no_out
expect_err "passwd:1:1: not a rules file: invalid JSON"
! grep -q "SECRET-LINE\|root:x" "$T/err" || fail "the file was quoted"
case="rules with a bad rule"
printf '{"rules": [\n  {"match": "a", "reply": "x"},\n  {"match": "(a", "reply": "y"}\n]}\n' \
	>"$B/bad.rules"
set_value rules rules.json bad.rules br.json
run --check "$B/br.json"; expect_rc 2
expect_err "bad.rules:3: rule 1: invalid regex"

case="FIFO as the lock file"
mkfifo "$B/.session.json.lock"
timeout 20 "$ADOPT_BIN" --run 1 "$B/session.json" </dev/null >"$T/out" 2>"$T/err"; rc=$?
expect_rc 1; expect_err "lock file $B/.session.json.lock is not a regular file"
rm "$B/.session.json.lock"

case="symlinked session"
ln -s session.json "$B/current.json"
stale="$B/.session.json.tmp-999999999-AbCdEf"
printf '{half' >"$stale"
run --run 1 "$B/current.json"; expect_rc 0; expect_clean
[ -L "$B/current.json" ] || fail "the link was replaced"
grep -q '"history"' "$B/session.json" || fail "the target was not saved"
[ ! -e "$stale" ] || fail "the stale temp file of a dead process is still there"
exit 0
