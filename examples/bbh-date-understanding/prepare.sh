#!/bin/sh
# prepare.sh: downloads BIG-Bench Hard's date_understanding task into data/bbh/ (needs network).
# No conversion: the session reads the published {"examples": [...]} file through "key".
set -e
cd "$(dirname "$0")"
[ -L data ] && { echo "data links to $(readlink data): nothing to download"; exit 0; }
mkdir -p data/bbh
url=https://raw.githubusercontent.com/suzgunmirac/BIG-Bench-Hard/main/bbh/date_understanding.json
[ -f data/bbh/date_understanding.json ] || curl -fL -o data/bbh/date_understanding.json "$url"
echo "ready: $(pwd)/data"
