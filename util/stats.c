/* stats.c - normal and t distributions, medians. See stats.h. */
#include "stats.h"

#include <math.h>
#include <stdlib.h>

double cs_norm_cdf(double x)
{
	return 0.5 * erfc(-x / M_SQRT2);
}

double cs_norm_quantile(double p)
{
	if (!(p > 0))
		return -INFINITY;
	if (!(p < 1))
		return INFINITY;
	/* A rational first guess (Abramowitz and Stegun 26.2.23, |error| < 4.5e-4), then
	 * Newton steps on erfc, which is accurate in both tails. */
	double q = p < 0.5 ? p : 1 - p;
	double t = sqrt(-2 * log(q));
	double x = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
			   (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
	x = p < 0.5 ? -x : x;
	for (int i = 0; i < 4; i++) {
		double err = cs_norm_cdf(x) - p;
		double dens = exp(-0.5 * x * x) / sqrt(2 * M_PI);
		if (dens <= 0)
			break;
		x -= err / dens;
	}
	return x;
}

/* The continued fraction of the regularized incomplete beta function (modified
 * Lentz), for x < (a + 1) / (a + b + 2). */
static double beta_cf(double a, double b, double x)
{
	const double tiny = 1e-300;
	double c = 1, d = 1 - (a + b) * x / (a + 1);
	if (fabs(d) < tiny)
		d = tiny;
	d = 1 / d;
	double h = d;
	for (int m = 1; m <= 300; m++) {
		double m2 = 2.0 * m;
		double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		h *= d * c;
		num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
		d = 1 + num * d;
		c = 1 + num / c;
		if (fabs(d) < tiny)
			d = tiny;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		double del = d * c;
		h *= del;
		if (fabs(del - 1) < 1e-14)
			break;
	}
	return h;
}

/* I_x(a, b) */
static double inc_beta(double a, double b, double x)
{
	if (x <= 0)
		return 0;
	if (x >= 1)
		return 1;
	double lbt = lgamma(a + b) - lgamma(a) - lgamma(b) + a * log(x) + b * log1p(-x);
	if (x < (a + 1) / (a + b + 2))
		return exp(lbt) * beta_cf(a, b, x) / a;
	return 1 - exp(lbt) * beta_cf(b, a, 1 - x) / b;
}

double cs_t_cdf(double t, double df)
{
	if (isinf(df) || df > 1e7)
		return cs_norm_cdf(t);
	double x = df / (df + t * t);
	double tail = 0.5 * inc_beta(df / 2, 0.5, x);
	return t >= 0 ? 1 - tail : tail;
}

double cs_t_quantile(double p, double df)
{
	if (isinf(df) || df > 1e7)
		return cs_norm_quantile(p);
	if (!(p > 0))
		return -INFINITY;
	if (!(p < 1))
		return INFINITY;
	if (p < 0.5)
		return -cs_t_quantile(1 - p, df);
	/* bisection on the tail, which is monotonic: enough for a threshold */
	double lo = 0, hi = 1;
	while (cs_t_cdf(hi, df) < p && hi < 1e12)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-10 * hi; i++) {
		double mid = 0.5 * (lo + hi);
		if (cs_t_cdf(mid, df) < p)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double cs_median(double *v, size_t n)
{
	qsort(v, n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double cs_median_ci(const double *v, size_t n, double conf, double *lo, double *hi)
{
	*lo = v[0];
	*hi = v[n - 1];
	/* [v[k], v[n-1-k]] holds the median unless k+1 or more values fall on one side of
	 * it: coverage 1 - 2 P(Binomial(n, 1/2) <= k). */
	double best = 0, below = 0, pk = pow(0.5, (double)n); /* P(X = k) */
	for (size_t k = 0; 2 * k < n; k++) {
		below += pk;
		double cover = 1 - 2 * below;
		if (cover < conf)
			break;
		best = cover;
		*lo = v[k];
		*hi = v[n - 1 - k];
		pk = pk * (double)(n - k) / (double)(k + 1);
	}
	return best;
}
