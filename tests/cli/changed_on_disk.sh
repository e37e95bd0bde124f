#!/bin/sh
# changed_on_disk.sh: --run never overwrites a session another program saved while it ran.  The
# run talks to the test LLM server (slowed down, so there is time); halfway the session file is
# replaced; the run's saves are refused with a message, it exits 1, and the other version stays.
. tests/cli/lib.inc
: "${LLM_SERVER:=$PWD/build/tests/llm-server}"
[ -x "$LLM_SERVER" ] || { echo "skipped: no $LLM_SERVER"; exit 0; }
cp -r examples/hotpot-mini "$T/s"
S="$T/s/session.json"
"$LLM_SERVER" --rules "$T/s/rules.json" --latency-ms 100 >"$T/port" 2>"$T/server.err" &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$T"' EXIT INT TERM
i=0
while ! grep -q '^PORT=' "$T/port" && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
port=$(sed -n 's/^PORT=//p' "$T/port")
[ -n "$port" ] || fail "the test server did not start"
OPENAI_API_KEY=test timeout 120 "$ADOPT_BIN" --run 1 --provider openai \
	--base-url "http://127.0.0.1:$port/v1" --model m "$S" </dev/null >"$T/out" 2>"$T/err" &
run_pid=$!
sleep 1
sed 's/"seed": 11/"seed": 12/' "$S" >"$T/theirs.json"
cp "$T/theirs.json" "$S"
wait $run_pid
rc=$?

case="--run over a changed file"
expect_clean; expect_rc 1
expect_err "changed on disk since it was read"
cmp -s "$S" "$T/theirs.json" || fail "the other program's version was overwritten"
[ ! -e "$T/s/.session.json.lock" ] || fail "the lock file stayed"
exit 0
