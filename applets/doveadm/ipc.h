/* SPDX-License-Identifier: MIT */
/* applets/doveadm/ipc.h: the client side of Dovecot's ipc socket (lib-master's
 * ipc-client.c) for `proxy list` and `proxy kick`: one command line, then ":" reply
 * lines and one "+" or "-" line. Not the server (that is proxyd's). */
#ifndef DOVEADM_IPC_H
#define DOVEADM_IPC_H

enum ipc_state {
	IPC_REPLY,	/* a ":data" line; more follow */
	IPC_OK,		/* "+data": the end */
	IPC_ERROR,	/* "-error", or a failure of the connection: the end */
};

typedef void ipc_cb(enum ipc_state, const char *data, void *arg);

/* Connects to the UNIX socket path, sends cmd plus LF and calls cb for every reply
 * line until the command ends (exactly one IPC_OK or IPC_ERROR call). With doveadm's
 * texts: a failed connect logs "Error: connect(PATH) failed: ..." and ends with
 * IPC_ERROR "ipc connect failed"; a lost connection ends with "Disconnected"; a line
 * that is not ":", "+" or "-" logs "Error: IPC proxy sent invalid input: ..." and ends
 * with "Invalid input"; lines that arrive with the last one log "Error: IPC proxy sent
 * unexpected input: LINE". */
void ipc_run(const char *path, const char *cmd, ipc_cb *cb, void *arg);

#endif
