/* timesel.c - time kinds: which time a view shows (--time), and which threads. */
#include "profile.h"

#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	unsigned sel;
} sels[] = {
	{"cpu", CS_SEL_CPU},	     {"off", CS_SEL_OFF},
	{"wall", CS_SEL_WALL},	     {"blocked", CS_SEL_BLOCKED},
	{"preempted", CS_SEL_PREEMPTED},
};

unsigned cs_time_parse(const char *s)
{
	for (size_t i = 0; s && i < CS_ARRAY_SIZE(sels); i++)
		if (!strcmp(s, sels[i].name))
			return sels[i].sel;
	return 0;
}

const char *cs_time_name(unsigned sel)
{
	for (size_t i = 0; i < CS_ARRAY_SIZE(sels); i++)
		if (sels[i].sel == sel)
			return sels[i].name;
	return "cpu";
}

unsigned cs_time_default(const struct cs_profile *p)
{
	return p->times.wall ? CS_SEL_WALL : CS_SEL_CPU;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
	return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t cs_sample_weight(const struct cs_profile *p, const struct cs_sample *s, unsigned sel)
{
	if (s->kind >= CS_TIME_KINDS || !(sel & (1u << s->kind)))
		return 0;
	if (!cs_time_in_us(sel))
		return s->count; /* CPU samples as they are */
	uint64_t ns = s->kind == CS_TIME_CPU ? mul_sat(s->count, p->times.cpu_period_ns) : s->count;
	return ns == UINT64_MAX ? ns : (ns + 500) / 1000;
}

static void reindex(struct cs_profile *p)
{
	cs_map64_release(&p->sample_ix);
	cs_map64_init(&p->sample_ix);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		*cs_map64_put(&p->sample_ix,
			      ((uint64_t)(s->stack | s->kind << 30) << 32) | s->thread, i, NULL) = i;
	}
}

int cs_profile_select_time(struct cs_profile *p, unsigned sel)
{
	if (!sel || (sel & ~(unsigned)CS_SEL_WALL))
		return cs_error("unknown time selection");
	if (p->times.shown)
		return cs_error("the profile's time was already selected");
	if ((sel & CS_SEL_OFF) && !p->times.wall)
		return cs_error("--time %s needs a recording made with 'csampler record --wall'; "
				"this one has CPU time only (use --time cpu)",
				cs_time_name(sel));
	p->times.shown = sel;
	if (p->times.wall) { /* every kind per thread, before the counts change */
		while (p->times.threads.n < p->threads.n) {
			struct cs_thread_time z;
			memset(&z, 0, sizeof(z));
			CS_VEC_PUSH(p->times.threads, z);
		}
		for (size_t i = 0; i < p->samples.n; i++) {
			const struct cs_sample *s = &p->samples.v[i];
			if (s->kind >= CS_TIME_KINDS || s->thread >= p->times.threads.n)
				continue;
			uint64_t ns = s->kind == CS_TIME_CPU ? mul_sat(s->count, p->times.cpu_period_ns)
							     : s->count;
			uint64_t *t = &p->times.threads.v[s->thread].ns[s->kind];
			*t = ns > UINT64_MAX - *t ? UINT64_MAX : *t + ns;
		}
	}
	if (sel == CS_SEL_CPU && !p->times.wall)
		return 0; /* a CPU profile: as it is */
	size_t k = 0;
	uint64_t total = 0;
	for (size_t i = 0; i < p->samples.n; i++) {
		struct cs_sample s = p->samples.v[i];
		if (s.kind >= CS_TIME_KINDS || !(sel & (1u << s.kind)))
			continue;
		uint64_t w = cs_sample_weight(p, &s, sel);
		if (w >= UINT64_MAX - total)
			return cs_error("the selected times add up to more than 64 bits hold");
		total += w;
		s.count = w;
		p->samples.v[k++] = s;
	}
	p->samples.n = k;
	reindex(p);
	return 0;
}

static int thread_kept(const struct cs_profile *p, uint32_t t, const struct cs_thread_filter *f,
		       const uint8_t *busy)
{
	const struct cs_thread *th = &p->threads.v[t];
	if (f->ntids) {
		size_t i = 0;
		while (i < f->ntids && f->tids[i] != th->tid)
			i++;
		if (i == f->ntids)
			return 0;
	}
	if (f->comm && strcmp(cs_str(p, th->name), f->comm) && strcmp(cs_str(p, th->process), f->comm))
		return 0;
	if (f->exclude_idle && !busy[t])
		return 0;
	return 1;
}

int cs_profile_filter_threads(struct cs_profile *p, const struct cs_thread_filter *f)
{
	if (!f->ntids && !f->comm && !f->exclude_idle)
		return 0;
	uint8_t *busy = cs_xcalloc(p->threads.n + 1, 1);
	for (size_t i = 0; i < p->samples.n; i++) {
		const struct cs_sample *s = &p->samples.v[i];
		if (s->kind == CS_TIME_CPU && s->count && s->thread < p->threads.n)
			busy[s->thread] = 1;
	}
	size_t k = 0;
	for (size_t i = 0; i < p->samples.n; i++)
		if (p->samples.v[i].thread < p->threads.n &&
		    thread_kept(p, p->samples.v[i].thread, f, busy))
			p->samples.v[k++] = p->samples.v[i];
	free(busy);
	int emptied = p->samples.n && !k;
	p->samples.n = k;
	reindex(p);
	if (emptied)
		return cs_error("no thread is left by --tid, --comm or --exclude-idle");
	return 0;
}
