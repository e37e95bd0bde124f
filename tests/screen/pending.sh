# Stepping phase by phase: a value not computed yet is shown as pending, never as 0.  After the
# Shapley phase the best combination's score and the next budgets are pending (Importance), the
# iteration's validation result too (History); after allocation the budgets appear; the title's
# val is the incumbent's measured score all along.
. tests/screen/lib.inc
example hotpot-mini
{ for i in 1 2 3 4 5 6 7 8; do echo "key s"; echo "wait-idle"; done
  echo ":save-display pending-shapley.txt"
  echo "key s"; echo "wait-idle"
  echo ":save-display pending-allocation.txt"
  echo "key q"; echo "key n"; } > "$TMP/steps"
screen 160x48 < "$TMP/steps"
golden pending-shapley
contains pending-shapley "validation 0.065 → pending"
contains pending-shapley "2 → pending"
contains pending-shapley "0.065 → pending"
contains pending-shapley "val 0.065"
! grep -q "→ 0.000\|→ 0 " "$OUT/pending-shapley.txt" || fail "a pending value shown as 0"
contains pending-allocation "2 → 2"
finish
