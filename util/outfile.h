/* outfile.h - writing an output file safely, even as root in a directory other users
 * can write.
 *
 * What happens depends on what the name is when the output is opened:
 *
 * - nothing, or a regular file: the data goes to a fresh temporary file in the same
 *   directory, renamed over the name on commit, so the name never shows a partial file.
 *   The temporary has no name at all while it is written (O_TMPFILE) where the file
 *   system allows it; elsewhere it gets an unpredictable name, created exclusively. A
 *   symbolic link at any temporary name is never followed.
 * - a device, a FIFO or a socket (/dev/null, a named pipe): written in place; it is
 *   never replaced by a regular file.
 * - a symbolic link: followed only when the link belongs to the caller or to root (the
 *   rule of the kernel's protected_symlinks) and leads to something that is not a
 *   regular file (/dev/stdout to a terminal or a pipe, a link to /dev/null), or to a
 *   file this process already holds open for writing (/dev/stdout, /dev/fd/N, which
 *   then write through that descriptor). Any other link is replaced by the new file,
 *   never written through: the file it points to stays untouched.
 * - a directory: an error.
 *
 * Functions that fail print one line ("cannot write 'PATH': REASON") unless
 * CS_OUT_QUIET, and return -1.
 */
#ifndef CS_OUTFILE_H
#define CS_OUTFILE_H

#include <limits.h>

enum {
	CS_OUT_PRIVATE = 1, /* mode 0600 instead of 0666 less the umask */
	CS_OUT_REPLACE = 2, /* always replace the name (private directories: caches) */
	CS_OUT_QUIET = 4,   /* print nothing on failure (caches) */
};

struct cs_outfile {
	int fd;			/* write here (a temporary is also readable) */
	int flags;		/* CS_OUT_* */
	int dirfd;		/* the directory of the name when it is replaced, else -1 */
	int anonymous;		/* the temporary has no name yet (O_TMPFILE) */
	int slot;		/* index in the table of named temporaries, or -1 */
	char *path;		/* the name as given, for messages; NULL for standard output */
	char *name;		/* its last component, when replaced */
	char tmp[NAME_MAX + 1]; /* the temporary's name in dirfd, "" while it has none */
};

/* Open path ("-" is standard output) as described above. 0 or -1. */
int cs_outfile_open(struct cs_outfile *o, const char *path, int flags);
/* Make the output final: for a replaced name, sync the data and rename the temporary
 * over the name (refusing if a directory or a device has appeared there meanwhile).
 * Closes the descriptor (never standard output). 0 or -1. */
int cs_outfile_commit(struct cs_outfile *o);
/* Discard the output: close it and remove the temporary. Safe after commit. */
void cs_outfile_abort(struct cs_outfile *o);

/* Remove every named temporary file still open. Async-signal-safe: call it from a
 * fatal signal's handler before dying. */
void cs_outfile_remove_temps(void);

#endif
