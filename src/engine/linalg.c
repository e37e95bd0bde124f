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

int linalg_cholesky_append(double *lp, int n, const double *arow, double min_pivot)
{
	double *row = lp + LINALG_PACKED(n);
	for (int j = 0; j < n; j++) {
		const double *lj = lp + LINALG_PACKED(j);
		double s = arow[j];
		for (int k = 0; k < j; k++)
			s -= row[k] * lj[k];
		row[j] = s / lj[j];
	}
	double d = arow[n];
	for (int k = 0; k < n; k++)
		d -= row[k] * row[k];
	if (!(d > min_pivot) || !isfinite(d))
		return -1;
	row[n] = sqrt(d);
	return 0;
}

void linalg_packed_solve_lower(const double *lp, int n, double *b)
{
	for (int i = 0; i < n; i++) {
		const double *li = lp + LINALG_PACKED(i);
		double s = b[i];
		for (int k = 0; k < i; k++)
			s -= li[k] * b[k];
		b[i] = s / li[i];
	}
}

void linalg_packed_solve_upper_t(const double *lp, int n, double *b)
{
	for (int i = n - 1; i >= 0; i--) {
		double s = b[i];
		for (int k = i + 1; k < n; k++)
			s -= lp[LINALG_PACKED(k) + (size_t)i] * b[k];
		b[i] = s / lp[LINALG_PACKED(i) + (size_t)i];
	}
}
