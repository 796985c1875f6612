/* pyframes.h - CPython frames merged into native stacks: a frame source (DESIGN.md §3).
 *
 * After a sample's native stack is unwound, each _PyEval_EvalFrameDefault frame in it
 * is replaced by the Python frames that call of the interpreter was executing, read
 * from the process's memory with process_vm_readv:
 *
 *   _PyRuntime -> interpreters -> thread states (native_thread_id == tid)
 *     -> cframe -> current_frame -> _PyInterpreterFrame chain (previous)
 *
 * In CPython 3.11 one C call of the evaluation loop runs a run of Python frames, the
 * outermost of which has is_entry set; so the chain splits into one group per eval
 * frame, innermost first, like the native stack. When the counts differ (the thread
 * moved on between the sample and the read, or is entering/leaving the loop), or a
 * read fails, the sample keeps its native frames and is counted: never a guessed frame.
 *
 * Supported: CPython 3.11 on x86-64, in an executable (Debian's python3.11) or in
 * libpython3.11.so. Other versions are refused once per process with a warning.
 * Nothing here needs Python's headers: the layouts are carried in pyframes.c.
 */
#ifndef CS_PYFRAMES_H
#define CS_PYFRAMES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "symbolizer/symbolizer.h"

/* Python frames in spliced stacks: module CS_SYM_PY, addr = cs_py frame id. */
#define CS_SYM_PY (UINT32_MAX - 3)

struct cs_py;

struct cs_py_stats {
	uint64_t samples;    /* samples with interpreter frames in a supported process */
	uint64_t merged;     /* ... whose Python frames were merged */
	uint64_t mismatch;   /* ... kept native: Python entry frames != eval frames */
	uint64_t moved;	     /* ... kept native: nothing in the sample points into the
				code of the innermost Python frame read */
	uint64_t unreadable; /* ... kept native: a read failed or what was read was not
				a valid thread state / frame / code object */
	uint64_t late;	     /* ... kept native: read more than CS_PY_MAX_LAG_NS after it */
	uint64_t gil;	     /* merged samples whose thread held the GIL when read */
	uint64_t lag_ns;     /* sum over merged samples of (read time - sample time) */
};

struct cs_py *cs_py_new(struct cs_symbolizer *sym);
void cs_py_free(struct cs_py *py);

/* What the sample itself holds: its registers (DWARF order) and stack copy. The
 * interpreter keeps a pointer into the running code's bytecode in a register, which
 * the functions it calls save on the stack; the innermost Python frame read must run
 * code that some such value points into, or the thread has moved on since. */
struct cs_py_sample {
	const uint64_t *regs; /* CS_DWARF_NREGS values */
	const uint8_t *stack;
	size_t stack_len;
};

/* Replace the interpreter frames of one sample of thread tid of pid. frames[0..n) is
 * the native stack, leaf first; complete says it reached the thread's root (else only
 * the innermost eval frames must have Python frames). Returns the new frame count
 * (at most cap); on any inconsistency the frames are left as they were and n is
 * returned. sample_ns is the sample's time (CLOCK_MONOTONIC), for the lag figure. */
size_t cs_py_splice(struct cs_py *py, pid_t pid, pid_t tid, struct cs_uframe *frames, size_t n,
		    size_t cap, int complete, uint64_t sample_ns, const struct cs_py_sample *smp);

/* Has any process been found running a supported interpreter? The recorder then
 * drains the sample rings often, so that frames are read soon after their samples. */
int cs_py_active(const struct cs_py *py);

/* Samples read later than this after they were taken keep their native frames (and
 * count as late): the Python stack has likely moved on by then. */
#define CS_PY_MAX_LAG_NS 20000000ull

/* pid called exec (or exited): forget what was learnt about its interpreter. */
void cs_py_forget(struct cs_py *py, pid_t pid);

/* What frame id (a CS_SYM_PY address) stands for: the code's qualified name, its file
 * and the line being executed (0 if unknown). Strings live as long as py. */
void cs_py_frame(const struct cs_py *py, uint32_t id, const char **qualname, const char **file,
		 uint32_t *line);

void cs_py_stats(const struct cs_py *py, struct cs_py_stats *st);

/* A refusal worth telling the user (e.g. "python 3.12 in PID 42 is not supported"),
 * or "" when there was none. */
const char *cs_py_note(const struct cs_py *py);

/* ---- line tables (pyline.c) ---- */

/* The source line of the instruction at byte offset addrq of a CPython 3.11 code object
 * from its co_linetable (PEP 626 locations table), as PyCode_Addr2Line computes it:
 * firstlineno for addrq < 0, -1 for an instruction without a line or past the table. */
int cs_py_addr2line(const uint8_t *table, size_t len, int firstlineno, int addrq);

#endif
