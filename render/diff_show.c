/* diff_show.c - the comparison as text, JSON or CSV. See diff.h. */
#include "diff.h"
#include "report_int.h"

#include <math.h>
#include <string.h>

static const char *const mode_names[] = {"per-run", "per-second", "shares"};
static const char *const by_names[] = {"function", "line", "module", "thread"};

static const char *status_name(int s)
{
	return s == CS_DIFF_NEW ? "new" : s == CS_DIFF_GONE ? "gone" : "";
}

static double ratio(const struct cs_diff *d)
{
	return d->value[CS_BASE] > 0 ? d->value[CS_NEW] / d->value[CS_BASE] : 0;
}

/* ---- text ---- */

static void put_value(const struct cs_diff *d, FILE *out, double v, int sign)
{
	if (d->seconds || d->mode == CS_DIFF_SHARES)
		fprintf(out, sign ? "%+10.3f" : "%10.3f", v);
	else
		fprintf(out, sign ? "%+10.0f" : "%10.0f", v);
}

static const char *unit_word(const struct cs_diff *d)
{
	return d->seconds ? "s" : "samples";
}

static void text_side(const struct cs_diff *d, FILE *out, int side)
{
	static const char *const per[] = {" per run", " per second", " (share)"};
	size_t n = d->runs[side];
	fprintf(out, "# %-4s %zu %s", side ? "NEW:" : "BASE:", n, n == 1 ? "run" : "runs");
	if (d->duration[side] > 0)
		fprintf(out, " of %.3f s%s", d->duration[side] / (double)n, n == 1 ? "" : " each");
	fputs(", ", out);
	if (d->seconds || d->mode == CS_DIFF_SHARES)
		fprintf(out, "%.3f %s", d->value[side], d->seconds ? "s" : "samples");
	else
		fprintf(out, "%.0f samples", d->value[side]);
	fprintf(out, "%s, %llu samples:", per[d->mode], (unsigned long long)d->samples[side]);
	size_t shown = 0;
	for (size_t i = 0; i < d->files.n; i++) {
		if (d->files.v[i].side != side)
			continue;
		if (shown++ == 3) {
			fputs(" ...", out);
			break;
		}
		fputc(' ', out);
		cs_text_put(out, d->files.v[i].name);
	}
	fputc('\n', out);
}

static void text_row(const struct cs_diff *d, FILE *out, const struct cs_diff_row *r,
		     struct cs_buf *b)
{
	fputs("  ", out);
	put_value(d, out, r->base, 0);
	fputc(' ', out);
	put_value(d, out, r->new_, 0);
	fputc(' ', out);
	put_value(d, out, r->delta, 1);
	fprintf(out, " %+8.2f%%  %-3s %-4s  ", r->delta_pct, r->significant ? "*" : "",
		status_name(r->status));
	cs_text_put(out, cs_str(&d->p, r->label));
	if (r->file && d->o.by == CS_BY_LINE) {
		fprintf(out, "  %s:%u", cs_text_str(b, cs_str(&d->p, r->file)), r->line);
	}
	if (r->module && d->o.by != CS_BY_MODULE) {
		fputs("  [", out);
		cs_text_put(out, cs_str(&d->p, r->module));
		fputc(']', out);
	}
	fputc('\n', out);
}

static void render_text(const struct cs_diff *d, int top, FILE *out)
{
	static const char *const what[] = {
	    "time per run (launched commands and text inputs: each file is one run)",
	    "time per second of recording (attached recordings)",
	    "shares (each side scaled to BASE's total: --normalize)"};
	const char *tn = d->o.time ? cs_time_name(d->o.time) : "cpu";
	fprintf(out, "# csampler diff: %s self time by %s, compared as %s\n",
		!strcmp(tn, "cpu") ? "CPU" : !strcmp(tn, "off") ? "off-CPU" : tn, by_names[d->o.by],
		what[d->mode]);
	text_side(d, out, CS_BASE);
	text_side(d, out, CS_NEW);
	const struct cs_diff_row *t = &d->total;
	fprintf(out, "# NEW/BASE %.3f: %+.*f %s (%+.2f%%), %s\n", ratio(d),
		d->seconds || d->mode == CS_DIFF_SHARES ? 3 : 0, t->delta, unit_word(d),
		t->delta_pct,
		d->mode == CS_DIFF_SHARES ? "equal by --normalize"
		: t->significant	  ? "significant"
					  : "not significant");
	fprintf(out,
		"# '*': significant at alpha %g for the whole table (%zu rows with samples enough "
		"to test): beyond sampling noise",
		d->o.alpha, d->tested);
	if (d->noise == CS_NOISE_RUNS)
		fprintf(out, " and the run-to-run spread of each side\n");
	else if (d->noise == CS_NOISE_BORROWED)
		fprintf(out, ", and the run-to-run spread of the side with several runs\n");
	else
		fprintf(out,
			" and the noise of single runs (one run per side):\n#   NEW/BASE common "
			"scale %.3f from %zu rows (%.0f%% of BASE's time); a row's excess over "
			"scale x BASE counts (+-%.0f%% jitter), the total's and kernel rows' only "
			"beyond +-%.0f%% of BASE's total\n",
			d->scale, d->scale_rows, 100 * d->scale_share, 100 * CS_DIFF_JITTER,
			100 * CS_DIFF_ALLOWANCE);
	if (d->o.fail_above >= 0)
		fprintf(out, "# gate: --fail-above %g%% of BASE's total: %zu %s\n", d->o.fail_above,
			d->regressions, d->regressions == 1 ? "regression" : "regressions");
	const char *u = d->seconds ? "seconds" : "samples";
	fprintf(out, "\n  %10s %10s %10s %9s  sig status  %s (times in %s)\n", "BASE", "NEW",
		"delta", "delta%", by_names[d->o.by], u);
	struct cs_buf b;
	cs_buf_init(&b);
	size_t n = top > 0 && (size_t)top < d->rows.n ? (size_t)top : d->rows.n;
	for (size_t i = 0; i < n; i++)
		text_row(d, out, &d->rows.v[i], &b);
	if (n < d->rows.n) {
		size_t sig = 0;
		for (size_t i = n; i < d->rows.n; i++)
			sig += (size_t)d->rows.v[i].significant;
		fprintf(out, "  ... %zu more rows (%zu significant): --top 0 shows all\n",
			d->rows.n - n, sig);
	}
	cs_buf_release(&b);
}

/* ---- JSON ---- */

static void json_cstr(FILE *out, const char *s)
{
	cs_json_str(out, s, strlen(s));
}

static void json_num(FILE *out, double v)
{
	if (!isfinite(v))
		v = 0;
	fprintf(out, "%.9g", v);
}

static void json_side(const struct cs_diff *d, FILE *out, int side)
{
	fputs("{\"files\": [", out);
	size_t k = 0;
	for (size_t i = 0; i < d->files.n; i++) {
		if (d->files.v[i].side != side)
			continue;
		if (k++)
			fputs(", ", out);
		json_cstr(out, d->files.v[i].name);
	}
	fprintf(out, "], \"runs\": %zu, \"seconds\": ", d->runs[side]);
	json_num(out, d->value[side]);
	fprintf(out, ", \"samples\": %llu, \"duration_s\": ", (unsigned long long)d->samples[side]);
	json_num(out, d->duration[side] / (double)d->runs[side]);
	fputc('}', out);
}

static void json_row(const struct cs_diff *d, FILE *out, const struct cs_diff_row *r)
{
	fputs("{\"function\": ", out);
	json_cstr(out, cs_str(&d->p, r->label));
	fputs(", \"module\": ", out);
	json_cstr(out, cs_str(&d->p, r->module));
	if (d->o.by == CS_BY_LINE) {
		fputs(", \"file\": ", out);
		json_cstr(out, cs_str(&d->p, r->file));
		fprintf(out, ", \"line\": %u", r->line);
	}
	fputs(", \"base_s\": ", out);
	json_num(out, r->base);
	fputs(", \"new_s\": ", out);
	json_num(out, r->new_);
	fputs(", \"delta_s\": ", out);
	json_num(out, r->delta);
	fputs(", \"delta_pct\": ", out);
	json_num(out, r->delta_pct);
	fprintf(out, ", \"significant\": %s, \"status\": \"%s\", \"z\": ",
		r->significant ? "true" : "false", r->status ? status_name(r->status) : "both");
	json_num(out, r->z);
	if (d->noise == CS_NOISE_SINGLE) {
		fputs(", \"excess_s\": ", out);
		json_num(out, r->excess);
		fputs(", \"excess_pct\": ", out);
		json_num(out, r->excess_pct);
	}
	fprintf(out, ", \"base_samples\": %llu, \"new_samples\": %llu}",
		(unsigned long long)r->base_samples, (unsigned long long)r->new_samples);
}

static void render_json(const struct cs_diff *d, FILE *out)
{
	fprintf(out,
		"{\"mode\": \"%s\", \"time\": \"%s\", \"unit\": \"%s\", \"by\": \"%s\", "
		"\"alpha\": ",
		mode_names[d->mode], d->o.time ? cs_time_name(d->o.time) : "cpu", d->seconds ? "s" : "samples", by_names[d->o.by]);
	json_num(out, d->o.alpha);
	fprintf(out, ", \"tested\": %zu, \"noise_model\": \"%s\", \"scale\": ", d->tested,
		cs_diff_noise_name(d));
	json_num(out, d->scale);
	if (d->noise == CS_NOISE_SINGLE) {
		fprintf(out, ", \"scale_rows\": %zu, \"scale_share\": ", d->scale_rows);
		json_num(out, d->scale_share);
		fputs(", \"allowance_pct\": ", out);
		json_num(out, 100 * CS_DIFF_ALLOWANCE);
		fputs(", \"jitter_pct\": ", out);
		json_num(out, 100 * CS_DIFF_JITTER);
	}
	fputs(",\n\"base\": ", out);
	json_side(d, out, CS_BASE);
	fputs(",\n\"new\": ", out);
	json_side(d, out, CS_NEW);
	fputs(",\n\"ratio\": ", out);
	json_num(out, ratio(d));
	fputs(", \"total\": ", out);
	json_row(d, out, &d->total);
	if (d->o.fail_above >= 0) {
		fputs(", \"fail_above_pct\": ", out);
		json_num(out, d->o.fail_above);
	}
	fputs(",\n\"functions\": [", out);
	for (size_t i = 0; i < d->rows.n; i++) {
		fputs(i ? ",\n  " : "\n  ", out);
		json_row(d, out, &d->rows.v[i]);
	}
	fputs("],\n\"regressions\": [", out);
	size_t k = 0;
	if (d->total.regression) {
		fputs("\n  ", out);
		json_row(d, out, &d->total);
		k++;
	}
	for (size_t i = 0; i < d->rows.n; i++) {
		if (!d->rows.v[i].regression)
			continue;
		fputs(k++ ? ",\n  " : "\n  ", out);
		json_row(d, out, &d->rows.v[i]);
	}
	fputs("]}\n", out);
}

/* ---- CSV ---- */

static void render_csv(const struct cs_diff *d, FILE *out)
{
	fprintf(out, "%s,module,%sbase_%s,new_%s,delta_%s,delta_pct,significant,status\n",
		by_names[d->o.by], d->o.by == CS_BY_LINE ? "file,line," : "",
		d->seconds ? "s" : "samples", d->seconds ? "s" : "samples",
		d->seconds ? "s" : "samples");
	for (size_t i = 0; i < d->rows.n; i++) {
		const struct cs_diff_row *r = &d->rows.v[i];
		cs_csv_str(out, cs_str(&d->p, r->label));
		fputc(',', out);
		cs_csv_str(out, cs_str(&d->p, r->module));
		if (d->o.by == CS_BY_LINE) {
			fputc(',', out);
			cs_csv_str(out, cs_str(&d->p, r->file));
			fprintf(out, ",%u", r->line);
		}
		fprintf(out, ",%.9g,%.9g,%.9g,%.4f,%d,%s\n", r->base, r->new_, r->delta,
			r->delta_pct, r->significant, r->status ? status_name(r->status) : "both");
	}
}

int cs_render_diff(const struct cs_diff *d, int format, int top, FILE *out)
{
	if (format == CS_FMT_JSON)
		render_json(d, out);
	else if (format == CS_FMT_CSV)
		render_csv(d, out);
	else
		render_text(d, top, out);
	return 0;
}

void cs_diff_print_regressions(const struct cs_diff *d, FILE *out)
{
	struct cs_buf b;
	cs_buf_init(&b);
	const char *u = d->seconds ? "s" : " samples";
	if (d->total.regression)
		fprintf(out,
			"csampler diff: regression: the total grew by %.2f%% (%+.4g%s), above "
			"--fail-above %g%%\n",
			d->total.delta_pct, d->total.delta, u, d->o.fail_above);
	for (size_t i = 0; i < d->rows.n; i++) {
		const struct cs_diff_row *r = &d->rows.v[i];
		if (!r->regression)
			continue;
		fprintf(out,
			"csampler diff: regression: %s %s %.2f%% of BASE's total "
			"(%+.4g%s%s), above --fail-above %g%%\n",
			cs_text_str(&b, cs_str(&d->p, r->label)),
			r->status == CS_DIFF_NEW ? "is new: it takes" : "grew by", r->excess_pct,
			r->excess, u,
			d->noise == CS_NOISE_SINGLE && r->status != CS_DIFF_NEW
			    ? " beyond the common scale"
			    : "",
			d->o.fail_above);
	}
	cs_buf_release(&b);
}
