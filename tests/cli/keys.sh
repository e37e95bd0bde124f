#!/bin/sh
# keys.sh: a session file cannot send a key where the user did not send it.  Without --trust a
# key goes only to the provider's default host, a loopback address or a URL the user gave
# (--base-url, OPENAI_BASE_URL), and only from OPENAI_API_KEY or a *_API_KEY variable; else
# the call fails before anything is sent, naming --trust.  A host that is not loopback is
# stood in for by the test LLM server acting as the HTTP proxy (http_proxy): every request for
# http://foreign.example comes to it, so its list of credentials shows where each key went.
# And a key the server echoes in an error is redacted.
. tests/cli/lib.inc
. tests/cli/server.inc
cp examples/chain5/* "$T/"
start_server --rules "$T/rules.json"
KEY=sk-test-secret-0123456789abcdef
OTHER=other-secret-0123456789abcdef
export http_proxy="$URL" no_proxy=127.0.0.1,localhost
unset OPENAI_API_KEY OPENAI_BASE_URL HTTP_PROXY ALL_PROXY all_proxy

# session NAME BASE_URL [API_KEY_ENV]: a copy of chain5 whose models call BASE_URL
session() {
	python3 - "$T/session.json" "$2" "${3:-}" >"$T/$1.json" <<'PY' || fail "writing $1"
import json, sys
s = json.load(open(sys.argv[1]))
m = {"provider": "openai", "model": "m"}
if sys.argv[2]: m["base_url"] = sys.argv[2]
if sys.argv[3]: m["api_key_env"] = sys.argv[3]
s["models"] = {"task": m, "optimizer": m}
print(json.dumps(s))
PY
}
# keys_seen: "host key" lines of what the server received since the last reset
keys_seen() {
	server_stats "$T/stats"
	python3 -c 'import json,sys; [print(c["host"], c["key"]) for c in json.load(open(sys.argv[1]))["credentials"]]' \
		"$T/stats"
}
expect_no_key() {
	seen=$(keys_seen)
	[ -z "$seen" ] || fail "the server saw a key: $seen"
	python3 -c 'import json,sys; n=json.load(open(sys.argv[1]))["requests"]; sys.exit(n != 0)' \
		"$T/stats" || fail "the server got requests"
}
expect_key_at() {
	keys_seen | grep -qxF "$1 $2" || fail "the server did not see the key at $1: $(keys_seen)"
}
session foreign http://foreign.example/v1
session plain ""
session local "$URL/v1"
session secretvar "$URL/v1" MY_SECRET
session customvar "$URL/v1" CUSTOM_API_KEY

case="foreign host from the session: refused, nothing sent"
server_reset
OPENAI_API_KEY=$KEY run --no-cache --eval --limit 2 "$T/foreign.json"; expect_rc 1; expect_clean
expect_out "refusing to send the API key in OPENAI_API_KEY to http://foreign.example:80"
expect_out "run with --trust to allow it"
expect_no_key

case="foreign host, --json: refused"
OPENAI_API_KEY=$KEY run --no-cache --eval --json --limit 1 "$T/foreign.json"; expect_rc 1
expect_out "run with --trust"
expect_no_key

case="foreign host, --run: refused"
cp "$T/foreign.json" "$T/foreign-run.json"
OPENAI_API_KEY=$KEY run --no-cache --run 1 "$T/foreign-run.json"; expect_clean
[ "$rc" -ne 0 ] || fail "--run with a refused key exits 0"
expect_err "run with --trust to allow it"
expect_no_key

case="foreign host with --trust: sent (the proxy stand-in works)"
OPENAI_API_KEY=$KEY run --no-cache --trust --eval --limit 2 "$T/foreign.json"; expect_rc 0
expect_key_at foreign.example "$KEY"

case="foreign host given with --base-url: sent"
server_reset
OPENAI_API_KEY=$KEY run --no-cache --eval --limit 2 --base-url http://foreign.example/v1 "$T/plain.json"
expect_rc 0; expect_key_at foreign.example "$KEY"

case="--base-url names another host than the session's: the session's is still refused"
server_reset
OPENAI_API_KEY=$KEY run --no-cache --eval --limit 1 --model task=m2 "$T/foreign.json"; expect_rc 1
expect_no_key

case="foreign host from OPENAI_BASE_URL: sent"
server_reset
OPENAI_BASE_URL=http://foreign.example/v1 OPENAI_API_KEY=$KEY run --no-cache --eval --limit 2 \
	"$T/plain.json"
expect_rc 0; expect_key_at foreign.example "$KEY"

case="a look-alike of loopback is not loopback"
for u in http://127.0.0.1.foreign.example/v1 "http://127.0.0.1@foreign.example/v1" \
	http://localhost.foreign.example/v1; do
	session lookalike "$u"
	server_reset
	OPENAI_API_KEY=$KEY run --no-cache --eval --limit 1 "$T/lookalike.json"; expect_rc 1
	expect_out "run with --trust"
	expect_no_key
done

case="loopback: sent"
server_reset
OPENAI_API_KEY=$KEY run --no-cache --eval --limit 2 "$T/local.json"; expect_rc 0
expect_key_at "127.0.0.1:$PORT" "$KEY"

case="api_key_env naming another variable: refused, nothing sent"
server_reset
MY_SECRET=$OTHER OPENAI_API_KEY=$KEY run --no-cache --eval --limit 2 "$T/secretvar.json"; expect_rc 1
expect_out "refusing to send the variable MY_SECRET as an API key"
expect_out "run with --trust"
expect_no_key

case="api_key_env naming another variable, --trust: sent"
MY_SECRET=$OTHER run --no-cache --trust --eval --limit 2 "$T/secretvar.json"; expect_rc 0
expect_key_at "127.0.0.1:$PORT" "$OTHER"

case="api_key_env naming a *_API_KEY variable: sent"
server_reset
CUSTOM_API_KEY=$OTHER run --no-cache --eval --limit 2 "$T/customvar.json"; expect_rc 0
expect_key_at "127.0.0.1:$PORT" "$OTHER"

case="a key echoed by the server is redacted"
kill "$server_pid"; wait "$server_pid" 2>/dev/null
start_server --rules "$T/rules.json" --require-key sk-test-right-0123456789 --echo-key
session local "$URL/v1"
for mode in "--eval" "--eval --json" "--run 1" "--run 1 --json"; do
	case="a key echoed by the server is redacted ($mode)"
	cp "$T/local.json" "$T/echo.json"
	OPENAI_API_KEY=$KEY run $mode --limit 1 "$T/echo.json"; expect_rc 1; expect_clean
	grep -qF "Incorrect API key provided: [redacted]." "$T/out" "$T/err" ||
		fail "no redacted key in the message"
	! grep -rqF "$KEY" "$T/out" "$T/err" "$T"/echo.* ||
		fail "the key was printed or written"
done
exit 0
