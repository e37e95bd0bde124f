/* linalg.c: Cholesky factorisation and triangular solves (see linalg.h). */
#include "engine/linalg.h"

#include <math.h>

int linalg_cholesky(double *a, int n, double min_pivot)
{
	for (int j = 0; j < n; j++) {
		double d = a[j * n + j];
		for (int k = 0; k < j; k++)
			d -= a[j * n + k] * a[j * n + k];
		if (!(d > min_pivot) || !isfinite(d))
			return -1;
		d = sqrt(d);
		a[j * n + j] = d;
		for (int i = j + 1; i < n; i++) {
			double s = a[i * n + j];
			for (int k = 0; k < j; k++)
				s -= a[i * n + k] * a[j * n + k];
			a[i * n + j] = s / d;
		}
		for (int i = j + 1; i < n; i++)
			a[j * n + i] = 0;
	}
	return 0;
}

void linalg_solve_lower(const double *l, int n, double *b)
{
	for (int i = 0; i < n; i++) {
		double s = b[i];
		for (int k = 0; k < i; k++)
			s -= l[i * n + k] * b[k];
		b[i] = s / l[i * n + i];
	}
}

void linalg_solve_upper_t(const double *l, int n, double *b)
{
	for (int i = n - 1; i >= 0; i--) {
		double s = b[i];
		for (int k = i + 1; k < n; k++)
			s -= l[k * n + i] * b[k];
		b[i] = s / l[i * n + i];
	}
}

void linalg_cholesky_solve(const double *l, int n, double *b)
{
	linalg_solve_lower(l, n, b);
	linalg_solve_upper_t(l, n, b);
}
