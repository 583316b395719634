/* SPDX-License-Identifier: GPL-2.0-or-later */
/* volcrypt home migrate: a plain home directory moved into a layered one. */
#ifndef VOLCRYPT_HOME_MIGRATE_H
#define VOLCRYPT_HOME_MIGRATE_H

struct cli_opts;

int home_migrate(const struct cli_opts *opts);

#endif
