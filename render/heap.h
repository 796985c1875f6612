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
/* Sort sites by cost, the dearest first (ties: by outstanding bytes, then stack). */
void cs_heap_sort_sites(struct cs_leak_site *v, size_t n, int cost);
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
