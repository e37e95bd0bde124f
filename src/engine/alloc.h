/* alloc.h: next iteration's candidate budgets from Shapley credit (DESIGN.md §2.11).
 *
 * The rule: every eligible step (not frozen) gets floor_n candidates; the remaining
 * total - floor_n * k (k eligible steps) is split in proportion to max(phi_i, 0) by the
 * largest-remainder method: each step takes the whole part of its quota, then the steps with
 * the largest fractional parts take one more until the sum is exactly `total` (equal fractions:
 * lower step index first). When no eligible phi is positive (all <= 0, NaN or infinite, which
 * count as 0), the remainder is split equally, again by largest remainder. Ineligible steps get
 * 0; with no eligible step every budget is 0. */
#ifndef ADOPT_ALLOC_H
#define ADOPT_ALLOC_H

#include <stdbool.h>

#include "core/util.h"

/* Writes out[0..m-1]; eligible may be NULL (every step eligible). 0, or -1 when
 * total < floor_n * k or an argument is negative. */
int alloc_budgets(int m, const double *phi, const bool *eligible, int total, int floor_n, int *out,
                  struct err *e);

#endif
