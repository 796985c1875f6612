/* fuzz.h - what the fuzz harnesses in tests/fuzz share.
 *
 * Each harness (fuzz_*.c) defines LLVMFuzzerTestOneInput. Built with clang and
 * -DCSAMPLER_FUZZ=ON it links libFuzzer; otherwise replay.c supplies a main() that runs
 * it once over every file named on the command line (the generated seeds and the
 * regression inputs in regress/), so every build replays them under its sanitizers.
 *
 * Beyond "no crash, no sanitizer finding, no leak", the harnesses check what csampler
 * promises about bad input and its outputs (fz_fail on a violation):
 *   - a reader or renderer that fails prints exactly one line, "csampler: ..."; one that
 *     succeeds prints no error (warnings are fine);
 *   - JSON output parses; folded output is "frames COUNT" lines; SVG carries only
 *     characters XML 1.0 allows, in valid UTF-8; text and CSV carry no control
 *     characters (terminal escapes) from the input.
 */
#ifndef CS_FUZZ_H
#define CS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "profile/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a broken promise and abort, so that libFuzzer keeps the input. */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Capture what csampler prints on stderr from now on ... */
void fz_capture_begin(void);
/* ... and stop: ret is what the call returned (0 or -1); what names the call. */
void fz_capture_end(int ret, const char *what);
/* For fz_capture_end: the call failed after at most one error line (a peer that went
 * away needs none, a peer that sent something malformed gets one). */
#define FZ_FAILED_OR_GONE (-2)

/* Run every view over p, checking each output: folded, the report for each --by,
 * callers and callees, the flamegraph (default options, and all others at once with a
 * small frame budget) and, when p has leak snapshots, the leak report and the flamegraph
 * and folded views of a snapshot. variant (a hash of the input) picks the options not
 * worth running every time: the thread root, annotations, the report's format and
 * sorting, the colours; so every choice is exercised across inputs while one input
 * always gets the same run. */
void fz_render_all(const struct cs_profile *p, uint32_t variant);
/* The variant for an input. */
uint32_t fz_variant(const uint8_t *data, size_t n);

/* Output checks (fz_fail on a violation); text need not be NUL-terminated. */
void fz_check_json(const char *text, size_t n, const char *what);
void fz_check_folded(const char *text, size_t n, const char *what);
void fz_check_xml_chars(const char *text, size_t n, const char *what);
/* Text meant for a terminal (text reports, CSV): no control characters but tab and line
 * feed (and carriage return, inside CSV fields, when allow_cr), so that no symbol name
 * can send escape sequences to the terminal. */
void fz_check_terminal(const char *text, size_t n, int allow_cr, const char *what);

/* Make a recording-shaped buffer consistent with its checksums, so that mutations
 * reach the section decoders instead of stopping at a CRC: every section's CRC is
 * recomputed over its raw bytes (a zlib section that does not inflate is left alone),
 * and the end section's over everything before it. With store set, zlib sections are
 * also rewritten uncompressed (easier to mutate). Returns the new buffer (caller frees;
 * NULL when n is 0) and its length in *out_n. */
uint8_t *fz_recording_fix(const uint8_t *data, size_t n, int store, size_t *out_n);

/* The leak harness's input: a little program that builds a profile (see fuzz_leaks.c). */
enum fz_leak_op {
	FZ_OP_FRAME = 0,    /* u8 flags, uv module (CS_NONE when >= modules), str name */
	FZ_OP_NODE = 1,	    /* uv parent, uv frame (each modulo its table) */
	FZ_OP_SAMPLE = 2,   /* uv stack, uv thread (>= threads: none), uv count */
	FZ_OP_SNAPSHOT = 3, /* f64 time, u8 exact|sampled<<1, uv sample_bytes, uv frees */
	FZ_OP_SITE = 4,	    /* uv stack, uv bytes, uv blocks, uv oldest_age_ns */
	FZ_OP_THREAD = 5,   /* uv pid, uv tid, str name, str process */
	FZ_OP_MODULE = 6,   /* u8 flags, str path, str name */
	FZ_OP_COUNT
};

#endif
