/* SPDX-License-Identifier: MIT */
/* applets/doveadm/cmd.h: the commands of doveadm's table (doveadm.c), each defined in
 * cmd_GROUP.c. A command gets argv[0] = the last word of its name and returns the exit
 * code. */
#ifndef DOVEADM_CMD_H
#define DOVEADM_CMD_H

#include "applets/doveadm/doveadm.h"

int cmd_proxy_list(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_proxy_kick(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_who(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_kick(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_auth_cache_flush(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_log_reopen(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_add(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_dsync_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_remove(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_replicate(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_replicator_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
/* doveadm director ...: cmd_director.c, cmd_director_host.c, cmd_director_map.c */
int cmd_director_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_map(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_add(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_update(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_up(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_down(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_remove(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_move(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_kick(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_flush(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_dump(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_ring_add(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_ring_remove(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);
int cmd_director_ring_status(struct doveadm_ctx *, const struct doveadm_cmd *, int, char **);

#endif
