/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Logging. Each file registers its own log type (vhostd.<file>) with
 * VHD_LOG_REGISTER(name) and logs with VHD_LOG(LEVEL, fmt, ...), which adds
 * the prefix, the function and the newline. Never used in poll loops.
 */
#ifndef VHOSTD_LOG_H
#define VHOSTD_LOG_H

#include <rte_log.h>

/* static: every file has its own vhd_logtype */
#define VHD_LOG_REGISTER(name) static RTE_LOG_REGISTER(vhd_logtype, vhostd.name, INFO)

#define VHD_LOG(level, fmt, ...)                                                         \
	rte_log(RTE_LOG_##level, vhd_logtype, "vhostd: %s: " fmt "\n", __func__, ##__VA_ARGS__)

#endif /* VHOSTD_LOG_H */
