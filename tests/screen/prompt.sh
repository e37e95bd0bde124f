# A step's full prompt from the Pipeline pane: Enter on a node (or P anywhere) shows its current
# prompt, inputs and version over the body; h/l go to the other steps, q comes back, t shows the
# node's traces instead.  After an accepted proposal the new version is the one shown.
. tests/screen/lib.inc
example hotpot-mini
screen 120x40 <<'SCRIPT'
keys jj
key Enter
:save-display prompt-answer.txt
key h
key h
:save-display prompt-code.txt
key q
:save-display prompt-closed.txt
key P
key t
:save-display prompt-traces.txt
key r
wait-idle
:accept answer
key 1
key /
keys answer
key Enter
key Enter
:save-display prompt-accepted.txt
key ?
:save-display prompt-help.txt
SCRIPT
contains prompt-answer "━ answer (llm)"
contains prompt-answer "{{passages}} = steps.retrieve.output"
contains prompt-answer "prompt (version 1, the one that runs now):"
contains prompt-answer "Use the passages to answer the question."
contains prompt-code "━ query (llm)"
contains prompt-closed "1 Pipeline"
contains prompt-traces "━ 2 Traces"
contains prompt-accepted "━ answer (llm)"
contains prompt-accepted "prompt (version 2, the one that runs now):"
contains prompt-help "Show the selected step's full current prompt (also Enter on a Pipeline node)"

# a step inside a loop says so (one prompt serves every round)
example dialogue-loop
screen 80x24 <<'SCRIPT'
key Enter
:save-display prompt-loop.txt
SCRIPT
contains prompt-loop "━ agent (llm)"
contains prompt-loop "runs in loop \"chat\", up to 4 rounds"
contains prompt-loop "{{replies}} = steps.user.rounds"
finish
