/* SPDX-License-Identifier: Apache-2.0 */
#ifndef CFGW_WMETRICS_H
#define CFGW_WMETRICS_H

#include <stddef.h>

/*
 * The Prometheus text each worker publishes in its PONG ("metrics",
 * docs/ipc.md), kept by control.c after promtext_check and appended by
 * http.c to /metrics while the worker is READY.  NULL when there is none.
 */
const char	*control_worker_metrics(int id, size_t *len);

#endif
