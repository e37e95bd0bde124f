#!/bin/sh
# recipes.sh: the recipes under examples/ that read the public datasets as they are published
# (paper-hotpotqa, gsm8k, bbh-date-understanding) load, evaluate and (HotPotQA) run one
# iteration on ../shared/data with the scripted stand-in; skipped with a message when the data
# is absent.  Nothing of the data is copied into the repository: each recipe is copied to the
# scratch directory with a link "data" to the shared folder.
. tests/cli/lib.inc
DATA=""
for d in "${ADOPT_DATA_DIR:-}" ../shared/data ../../shared/data; do
	[ -n "$d" ] && [ -f "$d/hotpot_dev_distractor_first.json" ] && { DATA=$(cd "$d" && pwd); break; }
done
[ -n "$DATA" ] || { echo "recipes.sh: skipped: no shared data (ADOPT_DATA_DIR, ../shared/data)"; exit 0; }

recipe() {
	mkdir -p "$T/$1"
	cp "examples/$1/session.json" "examples/$1/rules.json" "$T/$1/"
	ln -s "$DATA" "$T/$1/data"
	S="$T/$1/session.json"
}

recipe paper-hotpotqa
case="hotpotqa check"; run --check "$S"; expect_rc 0
expect_out "ok: 3 steps, 1 loops, 53 examples (train 20, val 20, test 13), metric hotpot_f1"
case="hotpotqa eval"; run --eval --json --limit 5 "$S"; expect_rc 0
python3 - "$T/out" "$DATA/hotpot_dev_distractor_first.json" <<'PY' || fail "hotpotqa eval JSON"
import json, sys
r = json.load(open(sys.argv[1]))
official = {e["_id"]: e for e in json.load(open(sys.argv[2]))}
assert r["examples_count"] == 5 and r["metric"] == "hotpot_f1", r
for x in r["examples"]:
    e = official[x["id"]]  # the val split is examples 21.. of the file, ids as published
    assert x["gold"] == [e["answer"]], x
    # the stand-in answers with the title of the first passage retrieved from the example's
    # own context: the nested [title, [sentence, ...]] list reached the retrieve step
    assert x["prediction"] in [t for t, _ in e["context"]], x
assert [x["id"] for x in r["examples"]] == list(official)[20:25]
PY
case="hotpotqa run 1"; run --run 1 "$S"; expect_rc 0
expect_out "paper-hotpotqa: 1 iterations; validation"
expect_err "iteration 1 done:"

recipe gsm8k
case="gsm8k check"; run --check "$S"; expect_rc 0
expect_out "1319 examples (train 200, val 200, test 919), metric numeric"
case="gsm8k eval"; run --eval --limit 10 "$S"; expect_rc 0
expect_out "gsm8k: split val, 10 examples"

recipe bbh-date-understanding
case="bbh check"; run --check "$S"; expect_rc 0
expect_out "250 examples (train 50, val 100, test 100), metric choice"
case="bbh eval"; run --eval --split test --limit 10 "$S"; expect_rc 0
expect_out "split test, 10 examples"
# paper-hover needs a Wikipedia corpus the shared data lacks: a few invented claims in the
# official layout and a five-passage corpus, written here (no text of the real data set)
mkdir -p "$T/paper-hover/data"
cp examples/paper-hover/session.json examples/paper-hover/rules.json "$T/paper-hover/"
S="$T/paper-hover/session.json"
cat >"$T/paper-hover/data/hover_dev_release_v1.1.json" <<'JSON'
[{"uid": "u1", "claim": "The painter Arvid Lennholm, who taught Mira Dalby, worked in oils before he took up etching in Tarnvik.", "supporting_facts": [["Arvid Lennholm", 0], ["Mira Dalby", 1], ["Tarnvik", 2]], "label": "NOT_SUPPORTED", "num_hops": 3, "hpqa_id": "x"},
 {"uid": "u2", "claim": "The song Glass Harbour was recorded by the band Quiet Ferns.", "supporting_facts": [["Glass Harbour", 1]], "label": "SUPPORTED", "num_hops": 2, "hpqa_id": "y"},
 {"uid": "u3", "claim": "Tarnvik is a fishing town.", "supporting_facts": [["Tarnvik", 0]], "label": "SUPPORTED", "num_hops": 2, "hpqa_id": "z"}]
JSON
cat >"$T/paper-hover/data/wiki_abstracts.jsonl" <<'JSON'
{"text": "Arvid Lennholm: a painter who worked in oils all his life."}
{"text": "Mira Dalby: an etcher who studied with Arvid Lennholm."}
{"text": "Glass Harbour: a song recorded by the band Quiet Ferns."}
{"text": "Tarnvik: a fishing town on a northern coast."}
{"text": "Quiet Ferns: a band of four musicians."}
JSON
case="hover check"; run --check "$S"; expect_rc 0
expect_out "ok: 3 steps, 1 loops, 3 examples (train 3, val 0, test 0), metric choice"
case="hover eval"; run --eval --split train "$S"; expect_rc 0
# the stand-in answers SUPPORTED: two of the three claims
expect_out "score 0.6667 (choice)   good 2  bad 1  errors 0"
echo "recipes.sh: ok"
