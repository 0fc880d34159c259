/* SPDX-License-Identifier: Apache-2.0 */
/* up_h2: h2c upstream (not yet implemented). */
#include "proxy.h"

int
up_h2_start(struct xch *x)
{
	(void)x;
	return -1;
}
