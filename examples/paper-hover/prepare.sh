#!/bin/sh
# prepare.sh: downloads the official HoVer dev file into data/ (needs network) and, with BUILD_WIKI=1,
# the HoVer Wikipedia 2017 abstracts database (several GB) converted to data/wiki_abstracts.jsonl,
# one {"text": "Title: abstract"} a line, for the retrieve step (needs python3 with sqlite3).
set -e
cd "$(dirname "$0")"
[ -L data ] && { echo "data links to $(readlink data): nothing to download"; exit 0; }
mkdir -p data
base=https://nlp.cs.unc.edu/data/hover
[ -f data/hover_dev_release_v1.1.json ] ||
	curl -fL -o data/hover_dev_release_v1.1.json "$base/hover_dev_release_v1.1.json"
if [ "${BUILD_WIKI:-0}" = 1 ] && [ ! -f data/wiki_abstracts.jsonl ]; then
	db=data/wiki_wo_links.db
	[ -f "$db" ] || curl -fL -o "$db" https://nlp.cs.unc.edu/data/hover/wiki_wo_links.db
	python3 - "$db" data/wiki_abstracts.jsonl <<'PY'
import json, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
with open(sys.argv[2], "w") as out:
    for title, text in con.execute("SELECT id, text FROM documents"):
        out.write(json.dumps({"text": title + ": " + text.replace("[SENT]", " ")}) + "\n")
PY
fi
echo "ready: $(pwd)/data"
