/**
 * @file wnode_validate.h
 * @brief The WNODE validator: any bytes in, a parsed view or a precise status out.
 *
 * The validator never reads outside `[buf, buf + min(len, BufferSize))`, never
 * assumes @p buf is aligned, and checks everything a later reader relies on,
 * so a view it returns can be walked without further checks. Status classes
 * (docs/decisions.md, "Validator statuses"):
 *  - STATUS_BUFFER_TOO_SMALL: fewer than 48 bytes given (no whole header);
 *  - STATUS_INVALID_BUFFER_SIZE: BufferSize larger than the bytes given or
 *    smaller than the fixed part of its kind; an offset or length that points
 *    past BufferSize or into the fixed part; an InstanceCount whose arrays
 *    cannot fit; any offset + length that overflows 32 bits;
 *  - STATUS_INVALID_PARAMETER: flags naming no kind or two kinds, EVENT_ITEM
 *    without a kind or with a kind that cannot be an event, FIXED_INSTANCE_SIZE
 *    without ALL_DATA, an odd name length, a name overlapping the data;
 *  - STATUS_DATATYPE_MISALIGNMENT: instance data not 8-byte aligned, a name
 *    not 2-byte aligned (both relative to the start of the WNODE);
 *  - STATUS_NOT_SUPPORTED: ETW forms (TRACED_GUID, USE_GUID_PTR, USE_MOF_PTR),
 *    whose header is an EVENT_TRACE_HEADER rather than a WNODE.
 */
#ifndef WMIEV_WNODE_VALIDATE_H
#define WMIEV_WNODE_VALIDATE_H

#include "diag.h"
#include "wnode.h"

WMIEV_BEGIN_DECLS

/** Which WNODE_* body follows the header. */
typedef enum wmiev_wnode_kind {
  WMIEV_WNODE_ALL_DATA = 1,
  WMIEV_WNODE_SINGLE_INSTANCE,
  WMIEV_WNODE_SINGLE_ITEM,
  WMIEV_WNODE_METHOD_ITEM,
  WMIEV_WNODE_EVENT_REFERENCE,
  WMIEV_WNODE_TOO_SMALL
} wmiev_wnode_kind;

/** Options for wmiev_wnode_validate(). */
#define WMIEV_VALIDATE_REQUIRE_EVENT 0x1u /**< reject anything that is not an event (EVENT_ITEM or EVENT_REFERENCE) */

/** Warnings: accepted, but not what the documentation asks for. */
#define WMIEV_WNODE_WARN_TARGET_GUID_MISMATCH 0x1u /**< event reference: WnodeHeader.Guid != TargetGuid */
#define WMIEV_WNODE_WARN_UNDEFINED_FLAGS 0x2u      /**< bits 0x800/0x1000 set, or a severity on a non-reference */

/** One instance as found in a validated WNODE. */
typedef struct wmiev_wnode_instance_view {
  bool has_name;          /**< a dynamic name is present */
  const uint8_t *name;    /**< UTF-16LE bytes of the name (not aligned), when has_name */
  uint16_t name_bytes;    /**< the stored count (may include one trailing NUL) */
  uint32_t name_offset;   /**< offset of the name's USHORT count in the WNODE */
  uint32_t index;         /**< InstanceIndex (static names), or the position in an ALL_DATA */
  const uint8_t *data;    /**< instance data (points into the buffer; NULL when size is 0) */
  uint32_t data_offset;   /**< offset of the data in the WNODE */
  uint32_t size;          /**< bytes of data */
} wmiev_wnode_instance_view;

/** A validated WNODE: header fields decoded, body located. */
typedef struct wmiev_wnode_view {
  wmiev_wnode_kind kind;
  const uint8_t *base;          /**< the buffer passed in */
  uint32_t buffer_size;         /**< WnodeHeader.BufferSize */
  uint32_t provider_id;
  uint64_t historical_context;
  int64_t timestamp;
  GUID guid;
  uint32_t client_context;
  uint32_t flags;
  bool is_event;                /**< EVENT_ITEM with a kind, or EVENT_REFERENCE */
  bool static_names;            /**< STATIC_INSTANCE_NAMES set */
  uint8_t severity;             /**< top byte of Flags (event references) */
  uint32_t warnings;            /**< WMIEV_WNODE_WARN_* bits */
  /** SINGLE_INSTANCE, SINGLE_ITEM, METHOD_ITEM: the instance; EVENT_REFERENCE:
   *  the target (no data; size = TargetDataBlockSize). */
  wmiev_wnode_instance_view instance;
  uint32_t item_id;             /**< ItemId (SINGLE_ITEM) or MethodId (METHOD_ITEM) */
  uint32_t data_block_offset;   /**< DataBlockOffset as stored (SINGLE_*, METHOD, ALL_DATA) */
  uint32_t instance_count;      /**< ALL_DATA: InstanceCount; 1 for single kinds */
  bool fixed_instance_size;     /**< ALL_DATA: FIXED_INSTANCE_SIZE set */
  uint32_t fixed_size;          /**< ALL_DATA: FixedInstanceSize when fixed */
  bool names_present;           /**< ALL_DATA: dynamic names present (not static, not INSTANCES_SAME) */
  GUID target_guid;             /**< EVENT_REFERENCE: TargetGuid */
  uint32_t size_needed;         /**< TOO_SMALL: SizeNeeded */
} wmiev_wnode_view;

/**
 * @brief Validates @p len bytes at @p buf as one WNODE.
 * @param options  WMIEV_VALIDATE_* bits
 * @param view     receives the view on success (required)
 * @return STATUS_SUCCESS or a failure status from the classes above, with
 *         @p diag naming the field.
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_validate(const void *buf, size_t len, uint32_t options,
                                               wmiev_wnode_view *view, wmiev_diag *diag);

/**
 * @brief Instance @p i of a validated view: for ALL_DATA 0 <= i < InstanceCount;
 *        for single kinds only i = 0 (the same as view->instance).
 * @return STATUS_SUCCESS, or STATUS_INVALID_PARAMETER for an index out of range
 *         or a view with no instances (TOO_SMALL).
 */
WMIEV_EXTERN wmiev_status wmiev_wnode_view_instance(const wmiev_wnode_view *view, uint32_t i,
                                                    wmiev_wnode_instance_view *out);

/** @brief Name of a kind, e.g. "WNODE_SINGLE_INSTANCE". */
WMIEV_EXTERN const char *wmiev_wnode_kind_name(wmiev_wnode_kind kind);

WMIEV_END_DECLS

#endif /* WMIEV_WNODE_VALIDATE_H */
