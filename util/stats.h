/* stats.h - the few distributions the comparison commands need (diff, ab): normal and
 * Student t quantiles, and order statistics of small samples. Pure functions. */
#ifndef CS_STATS_H
#define CS_STATS_H

#include <stddef.h>

/* The standard normal distribution function Phi(x). */
double cs_norm_cdf(double x);
/* Its inverse: x with Phi(x) = p, for 0 < p < 1 (relative error below 1e-9). */
double cs_norm_quantile(double p);
/* Student's t distribution function with df > 0 degrees of freedom (df may be
 * INFINITY: the normal). */
double cs_t_cdf(double t, double df);
/* Its inverse, for 0 < p < 1. */
double cs_t_quantile(double p, double df);

/* The median of v[0..n) (n > 0); sorts v. */
double cs_median(double *v, size_t n);

/* A distribution-free confidence interval for the median of n values sorted
 * ascending: the widest-inner pair of order statistics [v[k], v[n-1-k]] whose coverage
 * is at least conf. Returns the coverage reached (0 when n is too small for conf: then
 * *lo and *hi are the minimum and the maximum). */
double cs_median_ci(const double *sorted, size_t n, double conf, double *lo, double *hi);

#endif
