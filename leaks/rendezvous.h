/* rendezvous.h - where csampler and the agent meet, so that no third process can take
 * either end's place (see agent/protocol.h): an inherited control socket for a
 * launched command and the processes it starts; for a running process a listening socket with a random abstract name in the
 * target's network namespace, two random keys, and the agent's path as the target
 * sees it (a copy in the target's /tmp when the library is not visible to it, with
 * copies of the libraries it needs that the target's mount namespace lacks).
 * Internal to leaks/. */
#ifndef CS_LEAK_RENDEZVOUS_H
#define CS_LEAK_RENDEZVOUS_H

#include <sys/types.h>

#include "agent/protocol.h"

struct cs_rendezvous {
	int listen_fd; /* attach: csampler's listening socket, or -1 */
	int child_fd;  /* launch: the command's end of the control socket until it started */
	int pidfd;     /* attach: the target, so that a recycled PID cannot pass; or -1 */
	char *copy_dir, *copy; /* a copy of the agent, as csampler reaches it, or NULL */
	char *deps[8];	       /* copies of libraries it needs that the target lacks */
	size_t ndeps;
	char *load_path;       /* the agent's path as the target sees it */
	struct cs_agent_rendezvous rv;
};

void cs_rendezvous_init(struct cs_rendezvous *r);
/* Remove the copy of the agent, close everything. */
void cs_rendezvous_release(struct cs_rendezvous *r);

/* Launch mode: the control socket, a SOCK_SEQPACKET socketpair; *ours is csampler's
 * end, r->child_fd the command's (inherited across exec). 0 or -1 (printed). */
int cs_rendezvous_launch(struct cs_rendezvous *r, int *ours);

/* Launch mode: take one session from csampler's end of the control socket: *fd the
 * stream socket a process of the command sent (close-on-exec), *pid that process (the
 * socket's SO_PEERCRED: the process that made it, as the kernel saw it). Messages
 * that are not an agent's are dropped. 1, 0 if none is waiting, -1 if the socket
 * failed or every process of the command closed its end. */
int cs_rendezvous_take(int ctl, int *fd, pid_t *pid);

/* Attach mode: find how pid can load the agent (copying it into pid's /tmp if needed),
 * draw keys and a name, and listen in pid's network namespace. 0 or -1 (printed). */
int cs_rendezvous_attach(struct cs_rendezvous *r, pid_t pid, const char *agent);

/* Attach mode: 1 if the connection on fd comes from process pid, which is still the
 * process csampler attached to (not a recycled PID). */
int cs_rendezvous_peer_ok(const struct cs_rendezvous *r, int fd, pid_t pid);

/* The agent has loaded (it said HELLO): its copy is no longer needed. */
void cs_rendezvous_drop_copy(struct cs_rendezvous *r);

#endif
