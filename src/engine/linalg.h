/* linalg.h: the little dense linear algebra the search and credit code need (Cholesky
 * factorisation and triangular solves on row-major n x n arrays). Sizes are small (a few
 * hundred at most), so plain O(n^3) loops are right; no allocation happens here. */
#ifndef ADOPT_LINALG_H
#define ADOPT_LINALG_H

/* Factors the symmetric matrix `a` (row-major, n x n; only the lower triangle is read) in place
 * into L with A = L L^T; the strict upper triangle is zeroed. Returns -1 when a pivot is not
 * above `min_pivot` (or is NaN): the matrix is not positive definite to that tolerance. */
int linalg_cholesky(double *a, int n, double min_pivot);
/* b <- L^-1 b (forward substitution). */
void linalg_solve_lower(const double *l, int n, double *b);
/* b <- L^-T b (back substitution with the transpose). */
void linalg_solve_upper_t(const double *l, int n, double *b);
/* b <- A^-1 b given the factor L of A. */
void linalg_cholesky_solve(const double *l, int n, double *b);

#endif
