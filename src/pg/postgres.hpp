// The one place PostgreSQL's C headers enter C++.  Include every C++/fmt
// header *before* this file: port.h redefines printf/snprintf as macros.
#pragma once

extern "C" {
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

#if PG_VERSION_NUM < 140000
#error "zerocut needs PostgreSQL 14 or newer"
#endif
#if PG_VERSION_NUM >= 180000
#warning "zerocut is tested on PostgreSQL 14-17; newer majors may need changes"
#endif

// printf-style macros from port.h that clash with the C++ library.
#undef printf
#undef sprintf
#undef snprintf
#undef vsnprintf
#undef fprintf
