/* heap.h - what the leak report (leaks.c) and its heap views (heap.c) share. Internal
 * to render/.
 *
 * A view is one process's part of a recording, shaped as a profile of its own: it
 * shares the strings, frames and stack nodes of the recording, and holds only that
 * process's snapshots, whose sites are merged by their resolved frames, and its heap
 * timeline. leaks.c renders a view as it renders any single-process recording. */
#ifndef CS_RENDER_HEAP_H
#define CS_RENDER_HEAP_H

#include <stdio.h>

#include "render.h"

/* leaks.c: the report of one process (a view). */
int cs_leak_render_process(const struct cs_profile *view, const struct cs_leak_report_opts *o,
			   FILE *out);

/* heap.c: */
/* What site costs (enum cs_leak_cost). */
uint64_t cs_heap_cost(const struct cs_leak_site *site, int cost);
/* Sort sites by cost, the dearest first (ties: by outstanding bytes, then stack). */
void cs_heap_sort_sites(struct cs_leak_site *v, size_t n, int cost);
/* The processes a request is about, in order, that have snapshots: pid's (0: all);
 * only the first of them when one is wanted. Their indices in *out (the caller frees
 * it); returns the count. */
size_t cs_heap_select(const struct cs_profile *p, int64_t pid, int one, size_t **out);
/* For every stack node, the first node whose frames from the root are the same but for
 * their addresses (the caller frees it). */
uint32_t *cs_heap_canonical(const struct cs_profile *p);
/* Process proc of p as a view (see above): its snapshots with sites merged through
 * canon (cost leaked: only the sites with outstanding blocks). Release it with
 * cs_heap_view_release only (it shares p's tables). */
void cs_heap_view(struct cs_profile *v, const struct cs_profile *p, size_t proc,
		  const uint32_t *canon, int cost);
void cs_heap_view_release(struct cs_profile *v);

/* heap_show.c: */
/* One line for site (rank 1 first) of snapshot s: its cost and share of the snapshot's
 * total, then the rest of what is known about it. */
void cs_heap_text_site(const struct cs_profile *view, const struct cs_leak_snapshot *s,
		       const struct cs_leak_site *site, size_t rank, int cost, FILE *out);
/* Text after the header of a view: the process, the heap's peak and totals, the merged
 * stacks, the timeline. */
void cs_heap_text_summary(const struct cs_profile *view, const struct cs_leak_report_opts *o,
			  FILE *out);
/* JSON: the fields a site has besides frames, bytes, blocks and oldest_age. */
void cs_heap_json_site(const struct cs_profile *view, const struct cs_leak_snapshot *s,
		       const struct cs_leak_site *site, FILE *out);
/* JSON: the members of a view's object besides command, pid, snapshots and suspects
 * (each starting with ", "): heap, timeline and, for the first process of a recording
 * with several, the other processes. */
void cs_heap_json_extra(const struct cs_profile *view, const struct cs_leak_report_opts *o,
			FILE *out);

#endif
