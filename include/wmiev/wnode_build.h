/**
 * @file wnode_build.h
 * @brief Builders for every WNODE shape, into a caller's buffer.
 *
 * All builders follow the two-call pattern: they compute the size first and,
 * if @p buf_size is smaller (or @p buf is NULL), return
 * STATUS_BUFFER_TOO_SMALL with `*size_needed` set and write nothing. On
 * success they write exactly `*size_needed` bytes (= WnodeHeader.BufferSize),
 * padding included, all padding zero. Layout rules (spec §2.8):
 *  - a dynamic name is a counted string right after the fixed part;
 *  - data starts at the next 8-byte boundary after the fixed part and name;
 *  - ALL_DATA instances each start 8-byte aligned; dynamic names follow the
 *    data as a 4-aligned ULONG offset array, then the counted names.
 */
#ifndef WMIEV_WNODE_BUILD_H
#define WMIEV_WNODE_BUILD_H

#include "diag.h"
#include "wnode.h"

WMIEV_BEGIN_DECLS

/** Flag bits a builder owns and the caller may not pass in `extra_flags`. */
#define WMIEV_WNODE_BUILDER_OWNED_FLAGS                                                            \
  (WNODE_FLAG_ALL_DATA | WNODE_FLAG_SINGLE_INSTANCE | WNODE_FLAG_SINGLE_ITEM |                     \
   WNODE_FLAG_FIXED_INSTANCE_SIZE | WNODE_FLAG_TOO_SMALL | WNODE_FLAG_STATIC_INSTANCE_NAMES |      \
   WNODE_FLAG_EVENT_REFERENCE | WNODE_FLAG_METHOD_ITEM | WNODE_FLAG_SEVERITY_MASK)

/** Header fields shared by the builders. Zero-initialise, then set what you need. */
typedef struct wmiev_wnode_header_params {
  GUID guid;                /**< WnodeHeader.Guid (and TargetGuid of an event reference) */
  uint32_t provider_id;     /**< WnodeHeader.ProviderId (meaningful for events) */
  uint32_t extra_flags;     /**< OR-ed into Flags: EVENT_ITEM, PDO_INSTANCE_NAMES, USE_TIMESTAMP, ... */
  int64_t timestamp;        /**< WnodeHeader.TimeStamp, 100-ns units since 1601 */
  uint32_t client_context;  /**< WnodeHeader.ClientContext */
} wmiev_wnode_header_params;

/** One instance: addressed by static index or by dynamic name, with its data. */
typedef struct wmiev_wnode_instance {
  bool dynamic_name;        /**< true: `name` is used; false: `index` (STATIC_INSTANCE_NAMES) */
  const uint16_t *name;     /**< UTF-16 units, stored as given (a trailing NUL stays if given) */
  size_t name_units;        /**< number of units in `name` */
  uint32_t index;           /**< static instance index */
  const void *data;         /**< instance data; may be NULL only when `size` is 0 */
  uint32_t size;            /**< bytes of data (event reference: TargetDataBlockSize) */
} wmiev_wnode_instance;

/** How WNODE_ALL_DATA lays out its instances. */
typedef enum wmiev_all_data_layout {
  WMIEV_ALL_DATA_AUTO = 0,  /**< fixed when every instance has the same size, else variable */
  WMIEV_ALL_DATA_FIXED,     /**< FIXED_INSTANCE_SIZE; every size must be equal */
  WMIEV_ALL_DATA_VARIABLE   /**< OffsetInstanceDataAndLength array */
} wmiev_all_data_layout;

/*
 * Common failures of every builder: STATUS_INVALID_PARAMETER for NULL
 * required pointers, builder-owned bits in extra_flags, NULL data with a
 * non-zero size or a NULL name with units; STATUS_NAME_TOO_LONG for a name
 * over WMIEV_NAME_MAX_BYTES bytes; STATUS_INVALID_BUFFER_SIZE when the WNODE
 * would exceed 4 GiB - 1 (BufferSize is a ULONG).
 */

/** @brief WNODE_SINGLE_INSTANCE (query reply, change input, single-instance event). */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_single_instance(void *buf, size_t buf_size,
                                                            const wmiev_wnode_header_params *hdr,
                                                            const wmiev_wnode_instance *instance,
                                                            size_t *size_needed, wmiev_diag *diag);

/** @brief WNODE_SINGLE_ITEM: one item (ItemId = @p item_id) of one instance. */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_single_item(void *buf, size_t buf_size,
                                                        const wmiev_wnode_header_params *hdr,
                                                        const wmiev_wnode_instance *instance,
                                                        uint32_t item_id, size_t *size_needed,
                                                        wmiev_diag *diag);

/**
 * @brief WNODE_METHOD_ITEM: method @p method_id with the instance's data as input.
 *        EVENT_ITEM in extra_flags is rejected (a method call is never an event).
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_method_item(void *buf, size_t buf_size,
                                                        const wmiev_wnode_header_params *hdr,
                                                        const wmiev_wnode_instance *instance,
                                                        uint32_t method_id, size_t *size_needed,
                                                        wmiev_diag *diag);

/**
 * @brief WNODE_ALL_DATA with @p count instances, in order.
 *
 * Either every instance has a dynamic name or none has (then
 * STATIC_INSTANCE_NAMES is set and `index` is ignored): a mix is
 * STATUS_INVALID_PARAMETER, and so is WMIEV_ALL_DATA_FIXED with unequal
 * sizes. DataBlockOffset is the offset of the first instance's data in both
 * layouts. With no instances the WNODE is 64 bytes, fixed layout, size 0.
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_all_data(void *buf, size_t buf_size,
                                                     const wmiev_wnode_header_params *hdr,
                                                     const wmiev_wnode_instance *instances,
                                                     uint32_t count, wmiev_all_data_layout layout,
                                                     size_t *size_needed, wmiev_diag *diag);

/**
 * @brief WNODE_EVENT_REFERENCE naming @p target (by index or by name; its
 *        `data` must be NULL and its `size` is the TargetDataBlockSize).
 *
 * TargetGuid = WnodeHeader.Guid = hdr->guid; Flags = EVENT_REFERENCE, plus
 * STATIC_INSTANCE_NAMES for an index, plus @p severity in the top byte.
 * BufferSize is 72 for an index, max(72, 70 + name bytes) for a name.
 * EVENT_ITEM in extra_flags is rejected.
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_event_reference(void *buf, size_t buf_size,
                                                            const wmiev_wnode_header_params *hdr,
                                                            const wmiev_wnode_instance *target,
                                                            uint8_t severity, size_t *size_needed,
                                                            wmiev_diag *diag);

/**
 * @brief WNODE_TOO_SMALL telling the requester it needs @p needed bytes:
 *        BufferSize 56, Flags = TOO_SMALL only, every other field zero (the
 *        form Microsoft's classpnp sample writes).
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_build_too_small(void *buf, size_t buf_size, uint32_t needed,
                                                      size_t *size_needed, wmiev_diag *diag);

WMIEV_END_DECLS

#endif /* WMIEV_WNODE_BUILD_H */
