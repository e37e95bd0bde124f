# In a real terminal: C-c cancels the running phase (rolled back, as Esc does) and a second C-c
# asks to quit; C-z gives the terminal back to the shell and fg brings the screen back.
. tests/screen/tmux.inc
example hotpot-mini
# the query step answers slowly, so the forward pass is still running when C-c comes
slow='{"match": "Search query:", "reply": "slow", "delay_ms": 300000},'
sed -i "s/^ \"rules\": \\[\$/ \"rules\": [$slow/" "$OUT/rules.json"
grep -q '"delay_ms": 300000' "$OUT/rules.json" || fail "could not slow the rules down"
tmux_start 120 40
tmux_wait "1 Pipeline" || finish
tmux_keys s
tmux_wait "it 1 forward" || finish
tmux_keys C-c
tmux_wait "cancelled forward: rolled back to its start; C-c again asks to quit"
tmux_keys C-c
tmux_wait "quit adopt-tui? [y/n]"
tmux_keys y
tmux_restored 0

# C-z under a job-control shell (sh -m): the shell says the job stopped, then runs fg when the
# test says so
example hotpot-mini
T kill-server 2>/dev/null
RUNS=$((RUNS + 1))
SOCK="adopt-test-$$-$RUNS"
cat > "$TMP/job.sh" <<RUN
cd "$OUT" || exit 1
"$ADOPT_BIN" session.json 2> "$TMP/stderr"
echo "STOPPED=\$?"
while [ ! -f "$TMP/go" ]; do sleep 0.1; done
fg
echo "EXIT=\$?"
echo DONE
exec sleep 60
RUN
T new-session -d -s t -x 120 -y 40 "LC_ALL=C.UTF-8 TERM=xterm-256color sh -m $TMP/job.sh"
tmux_wait "1 Pipeline" || finish
tmux_keys 2
tmux_keys C-z
tmux_wait "STOPPED=148" || finish
[ "$(T display -p -t t '#{alternate_on}')" = 0 ] || fail "C-z left the screen on"
touch "$TMP/go"
tmux_wait "2 Traces"
[ "$(T display -p -t t '#{alternate_on}')" = 1 ] || fail "the screen did not come back after fg"
tmux_wait "No traces yet."
tmux_keys q
tmux_wait "EXIT=0"
finish
