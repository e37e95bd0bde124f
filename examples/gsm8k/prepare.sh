#!/bin/sh
# prepare.sh: downloads GSM8K's official test file into data/ (needs network).  No conversion.
set -e
cd "$(dirname "$0")"
[ -L data ] && { echo "data links to $(readlink data): nothing to download"; exit 0; }
mkdir -p data
url=https://raw.githubusercontent.com/openai/grade-school-math/master/grade_school_math/data/test.jsonl
[ -f data/gsm8k_test.jsonl ] || curl -fL -o data/gsm8k_test.jsonl "$url"
echo "ready: $(pwd)/data"
