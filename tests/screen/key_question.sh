# A session that sends the key to a host the user did not choose: the workbench asks, once per
# variable and host, before anything is sent; "n" fails those requests with a message naming
# --trust.  (Nothing reaches the network: foreign.example is never contacted when refused.)
. tests/screen/lib.inc
example chain5
python3 - "$SESSION" <<'PY' || fail "writing the session"
import json, sys
s = json.load(open(sys.argv[1]))
m = {"provider": "openai", "base_url": "http://foreign.example/v1", "model": "m"}
s["models"] = {"task": m, "optimizer": m}
json.dump(s, open(sys.argv[1], "w"))
PY
export OPENAI_API_KEY=sk-screen-test-0123456789
unset OPENAI_BASE_URL
screen 100x30 --no-cache <<'SCRIPT'
key s
wait-idle
:save-display keyq-asked.txt
key n
wait-idle
:save-display keyq-refused.txt
key 2
key j
:save-display keyq-traces.txt
key q
key n
SCRIPT
contains keyq-asked "the session sends the API key in OPENAI_API_KEY to http://foreign.example:80:"
contains keyq-refused "summarize"
contains keyq-refused "12 errors"
contains keyq-traces "refusing to send the API key in OPENAI_API_KEY to"
contains keyq-traces "run with --trust to allow it"
# too narrow for the whole question: it is cut in its middle, its end stays ("allow? [y/n]")
screen 60x20 --no-cache <<'SCRIPT'
key s
wait-idle
:save-display keyq-narrow.txt
key n
wait-idle
key q
key n
SCRIPT
contains keyq-narrow "the session sends the API key in OPENAI_API_KE… allow? [y/n]"
! grep -q "sk-screen-test" "$OUT"/*.txt "$SESSION" || fail "the key is on the screen or saved"
finish
