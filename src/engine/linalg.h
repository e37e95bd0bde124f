/* linalg.h: the little dense linear algebra the search and credit code need (Cholesky
 * factorisation and triangular solves on row-major n x n arrays, and a factor grown one row at
 * a time in packed storage). Sizes are small (a few hundred at most), so plain loops are right;
 * no allocation happens here. */
#ifndef ADOPT_LINALG_H
#define ADOPT_LINALG_H

#include <stddef.h>

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

/* Packed lower-triangular storage: row i of L is lp[i(i+1)/2 .. i(i+1)/2 + i]. */
#define LINALG_PACKED(n) ((size_t)(n) * ((size_t)(n) + 1) / 2)
/* Grows the factor of an n x n matrix to n + 1: `arow` is the new row of A (n + 1 values, the
 * diagonal last); row n of L is written at lp + LINALG_PACKED(n). O(n^2), and the same
 * arithmetic in the same order as linalg_cholesky, so a factor grown row by row equals the one
 * factored at once. -1 when the new pivot is not above min_pivot (rows 0..n-1 untouched). */
int linalg_cholesky_append(double *lp, int n, const double *arow, double min_pivot);
/* b <- L^-1 b and b <- L^-T b on a packed factor. */
void linalg_packed_solve_lower(const double *lp, int n, double *b);
void linalg_packed_solve_upper_t(const double *lp, int n, double *b);

#endif
