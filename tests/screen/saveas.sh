# :saveas into another directory rewrites the relative data, corpus and rules paths for the
# copy's place, so the copy passes --check; autosaves and w then save the copy, not the
# original.
. tests/screen/lib.inc
example hotpot-mini
mkdir "$OUT/elsewhere"
screen 120x40 <<'SCRIPT'
key s
wait-idle
key q
SCRIPT
cp "$SESSION" "$TMP/before.json"
screen 120x40 <<'SCRIPT'
key n
:saveas elsewhere/copy.json
:save-display saveas.txt
key s
wait-idle
key w
key q
SCRIPT
contains saveas "saved as elsewhere/copy.json"
"$ADOPT_BIN" --check "$OUT/elsewhere/copy.json" > "$TMP/check" 2>&1 ||
	{ cat "$TMP/check" >&2; fail "the copy fails --check"; }
grep -q '"train": "../train.jsonl"' "$OUT/elsewhere/copy.json" || fail "train path not rewritten"
grep -q '"corpus": "../corpus.jsonl"' "$OUT/elsewhere/copy.json" || fail "corpus path not rewritten"
cmp -s "$SESSION" "$TMP/before.json" || fail "the original changed"
[ ! -e "$OUT/elsewhere/.copy.json.lock" ] || fail "the copy's lock stayed"
finish
