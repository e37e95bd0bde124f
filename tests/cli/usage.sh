#!/bin/sh
# usage.sh: exit codes and messages of --help, --version and command-line mistakes.
. tests/cli/lib.inc

case="--help"; run --help; expect_rc 0; expect_clean
expect_out "usage: adopt-tui [options] SESSION.json"
for opt in --check --eval --run --split --limit --json --trust --offline --no-cache \
	--provider --base-url --model --help --version; do
	expect_out "$opt"
done
expect_out "adopt-tui-session(5)"
[ ! -s "$T/err" ] || fail "--help wrote to stderr"
case="-h"; run -h; expect_rc 0; expect_out "usage: adopt-tui"

case="--version"; run --version; expect_rc 0
grep -qE '^adopt-tui [0-9]+\.[0-9]+\.[0-9]+' "$T/out" || fail "version line: $(cat "$T/out")"
case="-V"; run -V; expect_rc 0; expect_out "adopt-tui "

case="no arguments"; run; expect_rc 2; expect_no_out; expect_err_lines 1
expect_err "adopt-tui: no session file given (try adopt-tui --help)"

case="unknown option"; run --bogus x.json; expect_rc 2; expect_no_out; expect_err_lines 1
expect_err "adopt-tui: unknown option --bogus (try adopt-tui --help)"
case="unknown short option"; run -Z x.json; expect_rc 2; expect_err "unknown option"

case="missing argument"; run x.json --split; expect_rc 2
expect_err "adopt-tui: option --split needs an argument (try adopt-tui --help)"
case="two sessions"; run a.json b.json; expect_rc 2
expect_err "adopt-tui: give exactly one session file (try adopt-tui --help)"
case="bad split"; run --eval --split dev x.json; expect_rc 2
expect_err "adopt-tui: --split is train, val or test, not \"dev\""
case="bad limit"; run --eval --limit -3 x.json; expect_rc 2
expect_err "adopt-tui: --limit needs a count, not \"-3\""
case="bad run count"; run --run zero x.json; expect_rc 2
expect_err "adopt-tui: --run needs a number of iterations, not \"zero\""
exit 0
