#!/bin/sh
# prepare.sh: downloads the official HotpotQA dev file (distractor setting) into data/ (needs
# network; about 45 MB) and links the name the session reads to it.  Nothing is converted.
set -e
cd "$(dirname "$0")"
[ -L data ] && { echo "data links to $(readlink data): nothing to download"; exit 0; }
mkdir -p data
url=http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_dev_distractor_v1.json
[ -f data/hotpot_dev_distractor_v1.json ] || curl -fL -o data/hotpot_dev_distractor_v1.json "$url"
[ -e data/hotpot_dev_distractor_first.json ] ||
	ln -s hotpot_dev_distractor_v1.json data/hotpot_dev_distractor_first.json
echo "ready: $(pwd)/data"
