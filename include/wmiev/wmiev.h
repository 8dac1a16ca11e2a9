/**
 * @file wmiev.h
 * @brief Umbrella header of the portable wmiev API.
 */
#ifndef WMIEV_WMIEV_H
#define WMIEV_WMIEV_H

#include "alloc.h"
#include "bus.h"
#include "common.h"
#include "diag.h"
#include "guid.h"
#include "irp.h"
#include "name.h"
#include "reginfo.h"
#include "reginfo_parse.h"
#include "registry.h"
#include "requester.h"
#include "source.h"
#include "status.h"
#include "wmi_codes.h"
#include "wnode.h"
#include "wnode_build.h"
#include "wnode_validate.h"
#include "wmilib.h"

WMIEV_BEGIN_DECLS

/** @brief The library's version as "MAJOR.MINOR.PATCH". */
WMIEV_EXTERN const char *wmiev_version_string(void);

WMIEV_END_DECLS

#endif /* WMIEV_WMIEV_H */
