# A model reply with bytes that are not UTF-8: the Traces pane shows U+FFFD in their place and
# says how many bytes were replaced.
. tests/screen/lib.inc
command -v python3 >/dev/null 2>&1 || { echo "replaced.sh: python3 is missing: skipping"; exit 0; }
mkdir -p "$TMP/s"
OUT="$TMP/s"
DATA=tests/data/engine
cp "$DATA/train.jsonl" "$DATA/val.jsonl" "$OUT/"
cp "$DATA/one.json" "$OUT/session.json"
python3 - "$DATA/rules.json" "$OUT/rules.json" <<'PY'
import sys
text = open(sys.argv[1], "rb").read()
rule = b'{"match": "Key word: ", "reply": "bad \xff\xfe byte"},\n'
i = text.index(b"[") + 1
open(sys.argv[2], "wb").write(text[:i] + b"\n" + rule + text[i:])
PY
screen 120x40 <<'SCRIPT'
key s
wait-idle
:view traces
:save-display replaced-traces.txt
key q
SCRIPT
contains replaced-traces "bad �� byte"
contains replaced-traces "2 byte(s) that were not UTF-8"
finish
