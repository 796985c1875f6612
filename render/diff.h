/* diff.h - compare two sets of profiles: BASE and NEW, each one or more runs.
 *
 * Every file is merged into one model (struct cs_diff.p) whose threads say which side
 * and which file a sample came from (thread pid = side, tid = file index), so rows,
 * the differential flame graph and the totals are walks over the same arrays.
 *
 * A row's time on a side is the self time of its frames (perf diff's default), in the
 * unit of the comparison:
 *   per run     (launched recordings, text inputs): seconds per run, the side's runs
 *               averaged;
 *   per second  (attached recordings): seconds of CPU per second of recording;
 *   shares      (--normalize): each side's time scaled so that its total is BASE's.
 * A change is significant when it is larger than sampling noise (samples as Poisson
 * counts) and than the noise of whole runs, by one of three noise models:
 *   run-to-run      (two or more runs on each side): the run-to-run spread of each
 *                   side's runs (a Welch t test on the per-run times); the larger of
 *                   spread and sampling noise counts;
 *   borrowed-spread (one run on a side, several on the other): the single run borrows
 *                   the other side's spread;
 *   single-run      (one run per side): a whole run of an unchanged program may be
 *                   slower or faster by up to CS_DIFF_ALLOWANCE (a shared machine,
 *                   a hypervisor taking time), which scales every function alike. A
 *                   common scale NEW/BASE is estimated from the rows whose ratio agrees
 *                   with it (the scale that most of BASE's time agrees with, preferring
 *                   no change on a tie; then the ratio of those rows' totals), and each
 *                   row is judged by its excess over scale x BASE, against sampling
 *                   noise, the scale's own uncertainty and a jitter of CS_DIFF_JITTER of
 *                   the row. Kernel rows, where a hypervisor's stolen time shows up
 *                   (e.g. pvm_irq_enable), and the total are judged against the
 *                   allowance: only an excess beyond CS_DIFF_ALLOWANCE of BASE's total
 *                   counts.
 * The level alpha is for the whole table (Bonferroni over its rows, leaving out rows
 * with too few samples to ever be significant: Tarone), so that two profiles of the
 * same program flag any row at most alpha of the time.
 */
#ifndef CS_DIFF_H
#define CS_DIFF_H

#include <stdio.h>

#include "flame.h"

enum cs_diff_mode { CS_DIFF_PER_RUN = 0, CS_DIFF_PER_SECOND, CS_DIFF_SHARES };
enum cs_diff_status { CS_DIFF_BOTH = 0, CS_DIFF_NEW, CS_DIFF_GONE };
enum cs_diff_side { CS_BASE = 0, CS_NEW = 1 };
enum cs_diff_noise { CS_NOISE_RUNS = 0, CS_NOISE_BORROWED, CS_NOISE_SINGLE };

/* single-run model: how much slower or faster a whole run of an unchanged program may
 * be (measured on a shared VM: 4-28% slower in some minutes), and how much one
 * function's time may move beyond the common scale (the program's own CPU clock of
 * one function, run to run: within 5%) */
#define CS_DIFF_ALLOWANCE 0.30
#define CS_DIFF_JITTER	  0.05

struct cs_diff_opts {
	int by;		   /* enum cs_report_by */
	int normalize;	   /* compare shares */
	double alpha;	   /* significance level for the table; 0: 0.05 */
	double freq;	   /* samples per second of text inputs without one; 0: unknown */
	double fail_above; /* % of BASE's total; < 0: no gate */
	unsigned time;	   /* enum cs_time_sel the inputs were selected to; 0: CPU */
};

struct cs_diff_file {
	char *name;
	int side;
	int attached;	   /* an attached recording (time per second of recording) */
	int seconds;	   /* unit is seconds (else samples) */
	double unit;	   /* seconds (or samples) per count */
	double weight;	   /* counts per sample: a sample's Poisson noise in counts */
	double duration_s; /* 0: unknown */
	uint64_t samples;  /* samples taken */
	uint64_t total;	   /* counts of the chosen time */
	double scale;	   /* internal: value of a count in the side's total */
	double xscale;	   /* internal: value of a count in this run's own figure */
};

/* One row of the comparison. */
struct cs_diff_row {
	uint32_t label;	     /* string id in the merged model: function, module or thread name */
	uint32_t module;     /* string id of the module's name, 0: none */
	uint32_t module_key; /* internal: what rows are matched by (main executables: one) */
	uint32_t file, line;
	double base, new_; /* time in the comparison's unit */
	double delta;	   /* new_ - base */
	double delta_pct;  /* of BASE's total */
	double z;	   /* delta over its standard error */
	double df;	   /* degrees of freedom of the test (INFINITY: sampling noise only) */
	int significant;
	int status;	   /* enum cs_diff_status */
	int regression;	   /* significant growth, above --fail-above if given */
	int kernel;	   /* a row of kernel code (single-run model: judged against the
			    * allowance) */
	double excess;	   /* new_ - scale * base (single-run model; else delta) */
	double excess_pct; /* of BASE's total */
	uint64_t base_samples, new_samples;
};

/* One side's figure of a row (or of a flame graph frame) for the noise models. */
struct cs_diff_est {
	double value;
	double pois;   /* variance of value from sampling noise */
	double run_s2; /* variance of one run's figure between runs (n >= 2) */
	size_t n;      /* runs */
};

struct cs_diff {
	struct cs_profile p; /* every file, merged */
	CS_VEC(struct cs_diff_file) files;
	struct cs_diff_opts o;
	int mode;	/* enum cs_diff_mode */
	int seconds;	/* the unit is seconds (else samples) */
	size_t runs[2]; /* files per side */
	double duration[2], value[2];
	uint64_t samples[2];
	struct cs_diff_row total;
	CS_VEC(struct cs_diff_row) rows; /* sorted by |delta|, largest first */
	size_t tested;			 /* rows the significance level is shared by */
	size_t regressions;		 /* rows (total included) with regression set */
	int noise;			 /* enum cs_diff_noise */
	double scale;	     /* single-run model: NEW/BASE of an unchanged program; else 1 */
	double scale_var;    /* its variance */
	double scale_share;  /* share of BASE's time in the rows the scale agrees with */
	size_t scale_rows;   /* those rows */
	uint32_t *frame_row; /* internal: model frame -> row, for --by line etc. */
};

void cs_diff_init(struct cs_diff *d, const struct cs_diff_opts *o);
void cs_diff_release(struct cs_diff *d);

/* Add one loaded profile to a side, under a display name. Returns 0. */
int cs_diff_add(struct cs_diff *d, int side, const struct cs_profile *src, const char *name);

/* Compute the rows once every file is added. Returns 0, or -1 after one error line
 * (a side without samples, units that cannot be compared). */
int cs_diff_compute(struct cs_diff *d);

/* Judge a row (total: the whole) from both sides' figures at the per-row level thr_p:
 * sets base, new_, delta, delta_pct, excess, excess_pct, z, df, significant, status,
 * regression. The flame graph judges its frames with it too. */
void cs_diff_judge(const struct cs_diff *d, struct cs_diff_row *r, const struct cs_diff_est *b,
		   const struct cs_diff_est *n, double thr_p, int total);

/* The name of d->noise: "run-to-run", "borrowed-spread" or "single-run". */
const char *cs_diff_noise_name(const struct cs_diff *d);

/* The table: text (top rows, 0 = all), JSON or CSV (every row). */
int cs_render_diff(const struct cs_diff *d, int format, int top, FILE *out);

/* Lines "csampler diff: regression: ..." for every row over the gate, on out. */
void cs_diff_print_regressions(const struct cs_diff *d, FILE *out);

/* The differential flame graph (diff_svg.c). */
int cs_render_diff_flame(const struct cs_diff *d, const struct cs_flame_opts *o, FILE *out);

#endif
