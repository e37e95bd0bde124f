#!/bin/sh
# hostile.sh: no escape sequence or control character from a session or a server reaches the
# terminal in any headless mode (--check, --eval, --run; text and JSON).  The session's name,
# example ids and a template carry OSC 52 (clipboard write), a title change, CSI 2J, C1 controls
# (U+009B and a raw 0x9b byte), BEL, DEL and bidi overrides; the test LLM server answers with
# such text and sends such error messages.  The JSON reports still parse, with the text intact.
. tests/cli/lib.inc
. tests/cli/server.inc
cp examples/chain5/* "$T/"
EVIL=$(printf 'X\033]52;c;cHduZWQ=\007\033]0;title\007\033[2J\n\302\233 31m\233 31m\177\342\200\256Y')
cat >"$T/evil-rules.json" <<'J'
{"rules": [{"match": "(?s).*",
  "reply": "positive \u001b]52;c;cHduZWQ=\u0007\u001b[2J\u009b31m\u202e\u007f done"}]}
J
start_server --rules "$T/evil-rules.json" --require-key sk-test-good-0123456789 \
	--error-message "$EVIL"
python3 - "$T/session.json" "$URL" <<'PY' >"$T/evil.json" || fail "writing the session"
import json, sys
s = json.load(open(sys.argv[1]))
evil = "X\x1b]52;c;cHduZWQ=\x07\x1b]0;title\x07\x1b[2J\u009b31m\u202eY"
s["name"] = "chain5 " + evil
m = {"provider": "openai", "base_url": sys.argv[2] + "/v1", "model": "m"}
s["models"] = {"task": m, "optimizer": m}
s["dataset"]["val"] = [{"id": "r" + str(i) + evil, "review": "Great " + evil, "answer": "positive"}
                       for i in range(3)]
print(json.dumps(s))
PY
python3 - "$T/evil.json" <<'PY' >"$T/bad.json" || fail "writing the invalid session"
import json, sys
s = json.load(open(sys.argv[1]))
s["pipeline"]["steps"][1]["prompt"] = "Summarize {{no\x1b]0;t\x07pe\x1b[2J\u009b1m}} now"
print(json.dumps(s, indent=1))
PY

# clean FILE...: every byte printable UTF-8 text, newlines and tabs only
clean() {
	python3 - "$@" <<'PY' || fail "control bytes reached the terminal (case: $case)"
import sys, unicodedata
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    text = data.decode("utf-8")  # strict: invalid UTF-8 is an error too
    for i, ch in enumerate(text):
        o = ord(ch)
        if ch in "\n\t":
            continue
        if o < 0x20 or 0x7f <= o < 0xa0 or 0x202a <= o <= 0x202e or 0x2066 <= o <= 0x2069:
            sys.exit("%s: U+%04X at %d: %r" % (path, o, i, text[max(0, i - 30):i + 30]))
PY
}

case="--check, invalid session quoting a template"
run --check "$T/bad.json"; expect_rc 2; expect_clean; clean "$T/out" "$T/err"
expect_err "bad.json"

case="usage error quoting an argument"
run "--x$EVIL" "$T/evil.json"; expect_rc 2; clean "$T/out" "$T/err"; expect_err "unknown option"
run --check "$T/$EVIL.json"; expect_rc 2; clean "$T/out" "$T/err"

case="--check, valid"
run --check "$T/evil.json"; expect_rc 0; clean "$T/out" "$T/err"

case="--eval text, model text"
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --no-cache "$T/evil.json"; expect_clean
clean "$T/out" "$T/err"; expect_out "split val, 3 examples"

case="--eval JSON, model text kept (escaped)"
OPENAI_API_KEY=sk-test-good-0123456789 run --eval --json --no-cache "$T/evil.json"
expect_clean; clean "$T/out" "$T/err"
python3 - "$T/out" <<'PY' || fail "the JSON report lost the text"
import json, sys
r = json.load(open(sys.argv[1]))
assert "\x1b]0;title\x07" in r["examples"][0]["id"], r["examples"][0]["id"]
assert "\u009b31m\u202eY" in r["examples"][0]["id"], r["examples"][0]["id"]
PY

case="--eval text, server error messages"
OPENAI_API_KEY=sk-test-wrong-0123456789 run --eval --no-cache "$T/evil.json"; expect_rc 1
expect_clean; clean "$T/out" "$T/err"; expect_out "openai 401 invalid_api_key: X"
grep -q "error in r0X.*: .*invalid_api_key: X.*Y\$" "$T/out" || fail "a server's message spans lines"

case="--eval JSON, server error messages"
OPENAI_API_KEY=sk-test-wrong-0123456789 run --eval --json --no-cache "$T/evil.json"
expect_rc 1; clean "$T/out" "$T/err"
python3 -c 'import json,sys; e=json.load(open(sys.argv[1]))["examples"][0]["error"]; assert "X" in e and "Y" in e and not any(c in e for c in "\x1b\x07\x9b\u202e") and "]52" not in e, e' "$T/out" \
	|| fail "the JSON report lost the error text or kept a sequence from the server"

for mode in "--run 1" "--run 1 --json"; do
	case="$mode, model text"
	cp "$T/evil.json" "$T/run.json"
	OPENAI_API_KEY=sk-test-good-0123456789 run $mode --no-cache "$T/run.json"
	expect_clean; clean "$T/out" "$T/err"
	case="$mode, server error messages"
	cp "$T/evil.json" "$T/run.json"
	OPENAI_API_KEY=sk-test-wrong-0123456789 run $mode --no-cache "$T/run.json"
	expect_clean; clean "$T/out" "$T/err"
	grep -q "^iteration 1: .*invalid_api_key: X.*Y" "$T/err" || fail "a server's message spans lines"
	[ "$rc" -ne 0 ] || fail "exit status 0 with every request failing"
done
exit 0
