#!/bin/sh
# workbench.sh: the workbench form (no --check/--eval/--run) without a terminal: stdin and
# stdout are not a tty.  Whatever the build does (no TUI yet, or a TUI that needs a terminal),
# it must end promptly with a message and a non-zero status or run cleanly: no crash, no hang,
# no escape sequences on a pipe, and the session file untouched.
. tests/cli/lib.inc
cp examples/capitals/session.json examples/capitals/*.jsonl "$T/"
cp "$T/session.json" "$T/before.json"

case="no tty"; run "$T/session.json"; expect_clean
if [ "$rc" -ne 0 ]; then
	expect_err "adopt-tui: "
	[ "$(wc -l <"$T/err")" -le 3 ] || fail "a long error for a missing terminal"
fi
! grep -q "$(printf '\033')" "$T/out" || fail "escape sequences written to a pipe"
cmp -s "$T/session.json" "$T/before.json" || fail "the session file changed"

case="no tty, bad session"; run "$T/missing.json"; expect_clean
[ "$rc" -ne 0 ] || fail "a missing session opened"
exit 0
