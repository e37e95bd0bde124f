/* alloc.c: candidate budgets by floor plus largest-remainder apportionment (see alloc.h). */
#include "engine/alloc.h"

#include <math.h>
#include <stdlib.h>

static double weight(double phi)
{
	return isfinite(phi) && phi > 0 ? phi : 0;
}

int alloc_budgets(int m, const double *phi, const bool *eligible, int total, int floor_n, int *out,
                  struct err *e)
{
	if (m < 0 || total < 0 || floor_n < 0)
		return err_set(e,
		               "budget allocation: step count, total and floor must not be "
		               "negative (got %d, %d, %d)",
		               m, total, floor_n);
	int k = 0;
	double wmax = 0;
	for (int i = 0; i < m; i++) {
		out[i] = 0;
		if (eligible && !eligible[i])
			continue;
		k++;
		wmax = MAX(wmax, weight(phi[i]));
	}
	if (k == 0)
		return 0;
	if ((long long)floor_n * k > total)
		return err_set(e,
		               "budget allocation: a total of %d candidates cannot give %d steps "
		               "the floor of %d each (need %lld)",
		               total, k, floor_n, (long long)floor_n * k);
	long long rest = total - (long long)floor_n * k;
	/* scale by the largest weight first so the sum cannot overflow */
	double wsum = 0;
	for (int i = 0; i < m; i++)
		if (!eligible || eligible[i])
			wsum += wmax > 0 ? weight(phi[i]) / wmax : 1;
	double *frac = xmalloc(sizeof(double) * (size_t)m);
	int *order = xmalloc(sizeof(int) * (size_t)k);
	long long left = rest;
	int n = 0;
	for (int i = 0; i < m; i++) {
		if (eligible && !eligible[i])
			continue;
		double q = (double)rest * (wmax > 0 ? weight(phi[i]) / wmax : 1) / wsum;
		double whole = MIN(floor(q), (double)left);
		out[i] = floor_n + (int)whole;
		frac[i] = q - whole;
		left -= (long long)whole;
		/* insertion sort by fraction, largest first; equal fractions keep index order */
		int j = n++;
		for (; j > 0 && frac[order[j - 1]] < frac[i]; j--)
			order[j] = order[j - 1];
		order[j] = i;
	}
	/* The seats left (fewer than k, up to rounding) go one each down the order. */
	for (long long s = 0; s < left; s++)
		out[order[s % k]]++;
	free(order);
	free(frac);
	return 0;
}
