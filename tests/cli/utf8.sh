#!/bin/sh
# utf8.sh: a model that answers bytes that are not UTF-8, and a NUL, leaves a session and a
# response cache that another JSON reader (python3's json module) accepts: each bad byte is
# stored as U+FFFD, counted in the trace (replaced_bytes), and nothing after a NUL is lost.
# Once with the scripted model, once through the OpenAI wire format from the test LLM server
# (its nul_bytes fault sends each U+0001 of an answer as \u0000).
. "$(dirname "$0")/lib.inc"
command -v python3 >/dev/null 2>&1 || { echo "utf8.sh: python3 is missing: skipping"; exit 0; }
DATA=$(cd "$(dirname "$0")/../data/engine" && pwd)

# The task step's answer: a byte 0xFF, U+0001, an overlong "/" (C0 AF); then the usual rules.
# python3 writes it, so that the raw bytes survive exactly.
python3 - "$DATA/rules.json" "$T/rules.json" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
text = open(src, "rb").read()
rule = (b'{"match": "Key word: ", "reply": "bad \xff byte, NUL\\u0001here, '
        b'overlong \xc0\xaf end"},\n')
i = text.index(b"[") + 1
open(dst, "wb").write(text[:i] + b"\n" + rule + text[i:])
PY
for f in one.json train.jsonl val.jsonl; do cp "$DATA/$f" "$T/$f"; done

# check SESSION CACHE REPLACED RAW: both files are valid UTF-8 JSON, and a trace step kept RAW
# with REPLACED bytes replaced
check() {
	python3 - "$@" <<'PY' || fail "python3 cannot read what was saved"
import json, sys
session, cache, replaced, raw = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
with open(session, "rb") as f:
    s = json.loads(f.read())  # bytes: decoded strictly as UTF-8
for line in open(cache, "rb"):
    json.loads(line)
raw = raw.encode().decode("unicode_escape")
steps = [st for it in s["history"]["iterations"] for tr in it.get("traces", [])
         for st in tr["steps"] if st["step"] == "answer"]
assert steps, "no trace of the step was saved"
for st in steps:
    assert st.get("replaced_bytes") == replaced, st
    assert st["raw"] == raw, (st["raw"], raw)
PY
}

case="scripted model"
cp "$T/one.json" "$T/s.json"
run --run 1 "$T/s.json"
expect_clean
expect_rc 0
check "$T/s.json" "$T/s.cache.jsonl" 3 'bad \ufffd byte, NUL\x01here, overlong \ufffd\ufffd end'

case="openai wire format, with a NUL"
[ -n "$LLM_SERVER" ] && [ -x "$LLM_SERVER" ] || { echo "utf8.sh: no LLM_SERVER: skipping"; exit 0; }
"$LLM_SERVER" --rules "$T/rules.json" --nul_bytes 1 >"$T/port" 2>"$T/server.err" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$T"' EXIT INT TERM
for i in $(seq 50); do grep -q PORT= "$T/port" && break; sleep 0.1; done
port=$(sed -n 's/^PORT=//p' "$T/port")
[ -n "$port" ] || fail "the test LLM server did not start: $(cat "$T/server.err")"
cp "$T/one.json" "$T/n.json"
OPENAI_API_KEY=test-key run --run 1 --provider openai --base-url "http://127.0.0.1:$port/v1" \
	--model test-model "$T/n.json"
expect_clean
expect_rc 0
check "$T/n.json" "$T/n.cache.jsonl" 4 'bad \ufffd byte, NUL\ufffdhere, overlong \ufffd\ufffd end'
exit 0
