/* cache.h - csampler's private cache directory and checksummed entries in it.
 *
 * The cache ($XDG_CACHE_HOME/csampler, else ~/.cache/csampler) is used by root as well
 * as by users, so it is trusted only when nobody else could have put anything in it:
 *
 * - the way to it is walked one component at a time without letting the kernel follow
 *   links; a symbolic link on the way is followed only if it belongs to the caller or
 *   to root, and every directory on the way must belong to the caller or to root and
 *   not be writable by others (unless sticky, like /tmp);
 * - csampler/ and every directory created below it must be a real directory (never a
 *   link), owned by the caller and writable by nobody else;
 * - every entry ends with a checksum of its contents; an entry that does not match,
 *   or is not a regular file of ours, is removed and rebuilt.
 *
 * When the cache cannot be trusted, csampler works without it and says why once, in
 * one warning line. CSAMPLER_NO_CACHE=1 turns the cache off silently.
 */
#ifndef CS_CACHE_H
#define CS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The cache directory, created with mode 0700 if needed; NULL when caching is off,
 * impossible or unsafe (caller frees). */
char *cs_cache_dir(void);
/* CACHE/rel, each component of rel ("debug/.build-id/ab") created with mode 0700 and
 * checked as above; NULL if that fails (caller frees). */
char *cs_cache_subdir(const char *rel);
/* Create and check the components of rel under dir, itself a checked cache directory
 * (as cs_cache_subdir does under CACHE). 0 or -1. */
int cs_cache_mkdirs(const char *dir, const char *rel);

/* A 64-bit checksum of n bytes (not cryptographic: it finds damage and edits). */
uint64_t cs_checksum(const void *p, size_t n);

/* A verified cache entry in memory: data/size are its contents without the checksum
 * (followed by a NUL byte), in a heap buffer the caller may keep. */
struct cs_cache_entry {
	void *data;
	size_t size;
};
/* Read the entry at path. 0, or -1 when it is absent or bad (a bad one is removed so
 * that it is rebuilt). Never blocks: a FIFO there is bad. */
int cs_cache_entry_read(const char *path, struct cs_cache_entry *e);
void cs_cache_entry_release(struct cs_cache_entry *e);
/* Verify the entry at path without keeping it (for files others read, like debug info
 * copies). 0, or -1 as cs_cache_entry_read. */
int cs_cache_entry_check(const char *path);
/* Write the entry at path atomically (mode 0600): the parts, then their checksum.
 * Failures are silent (a cache is an optimisation); 0 or -1. */
int cs_cache_entry_write(const char *path, const struct iovec *parts, int nparts);
/* Append the checksum of everything in fd (a file being written as an entry). 0/-1. */
int cs_cache_entry_seal(int fd);

#endif
