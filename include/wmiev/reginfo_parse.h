/**
 * @file reginfo_parse.h
 * @brief Validating a WMIREGINFO chain (the answer to IRP_MN_REGINFO(_EX))
 *        into a view, without allocating and without reading out of bounds.
 *
 * The parser is the registration-side twin of the WNODE validator: any bytes
 * in, a view or a precise status out. Offsets inside a record (RegistryPath,
 * MofResourceName, InstanceNameList, BaseNameOffset) are relative to the
 * start of that record and must lie inside it; NextWmiRegInfo is relative to
 * the record too and must skip past the whole record, so a chain can only move
 * forward and cannot loop. Status classes (docs/decisions.md, "REGINFO"):
 *  - STATUS_BUFFER_TOO_SMALL: fewer bytes than one WMIREGINFO header;
 *  - STATUS_INVALID_BUFFER_SIZE: a BufferSize, offset, count or string that
 *    does not fit its record or the bytes given, arithmetic overflow, a
 *    NextWmiRegInfo that does not move past the current record;
 *  - STATUS_INVALID_PARAMETER: more than one name source flag on a block
 *    (INSTANCE_LIST, INSTANCE_BASENAME, INSTANCE_PDO), a PDO block with a
 *    zero Pdo, REMOVE_GUID in a WMIREGISTER answer when strict, odd string
 *    lengths, more than WMIEV_REGINFO_MAX_RECORDS records;
 *  - STATUS_DATATYPE_MISALIGNMENT: a counted string at an odd offset.
 */
#ifndef WMIEV_REGINFO_PARSE_H
#define WMIEV_REGINFO_PARSE_H

#include "diag.h"
#include "reginfo.h"

WMIEV_BEGIN_DECLS

/** Most records a chain may hold (a class driver plus its miniclasses). */
#define WMIEV_REGINFO_MAX_RECORDS 256u

/** Options of wmiev_reginfo_validate(). */
#define WMIEV_REGINFO_UPDATE 0x1u /**< the answer to a WMIUPDATE query (REMOVE_GUID allowed) */
#define WMIEV_REGINFO_STRICT 0x2u /**< reject REMOVE_GUID in a WMIREGISTER answer instead of skipping it */

/** Where a block's instance names come from. */
typedef enum wmiev_name_source {
  WMIEV_NAMES_DYNAMIC = 0, /**< none of LIST/BASENAME/PDO: names travel in each WNODE */
  WMIEV_NAMES_LIST,        /**< WMIREG_FLAG_INSTANCE_LIST: InstanceCount counted strings */
  WMIEV_NAMES_BASENAME,    /**< WMIREG_FLAG_INSTANCE_BASENAME: base name + index */
  WMIEV_NAMES_PDO          /**< WMIREG_FLAG_INSTANCE_PDO: PDO instance id + "_" + index */
} wmiev_name_source;

/** A counted UTF-16LE string found in the buffer (chars may be unaligned). */
typedef struct wmiev_wire_string {
  const uint8_t *chars; /**< NULL when absent */
  uint16_t bytes;       /**< byte count as stored */
} wmiev_wire_string;

/** A validated chain. */
typedef struct wmiev_reginfo_view {
  const uint8_t *base;   /**< the buffer passed in */
  uint32_t size;         /**< bytes of the chain (end of the last record) */
  uint32_t record_count; /**< records in the chain (>= 1) */
  uint32_t block_count;  /**< WMIREGGUIDW entries over all records */
  uint32_t skipped_remove_count; /**< REMOVE_GUID entries skipped in a WMIREGISTER answer */
  uint32_t options;      /**< the options it was validated with */
} wmiev_reginfo_view;

/** One record of the chain. */
typedef struct wmiev_reginfo_record_view {
  uint32_t offset;                 /**< offset of the record from the start of the chain */
  uint32_t buffer_size;            /**< its BufferSize */
  wmiev_wire_string registry_path; /**< RegistryPath (absent when the offset is 0) */
  wmiev_wire_string mof_resource;  /**< MofResourceName (absent when the offset is 0) */
  uint32_t guid_count;             /**< its GuidCount */
  uint32_t first_block;            /**< global index of its first block */
} wmiev_reginfo_record_view;

/** One WMIREGGUIDW entry, decoded. */
typedef struct wmiev_reginfo_block_view {
  GUID guid;
  uint32_t flags;            /**< WMIREG_FLAG_* as stored */
  uint32_t instance_count;   /**< InstanceCount as stored */
  uint32_t record;           /**< index of the record holding it */
  uint32_t entry_offset;     /**< offset of the entry from the start of the chain */
  wmiev_name_source names;   /**< where its instance names come from */
  uintptr_t pdo;             /**< NAMES_PDO: the Pdo value */
  wmiev_wire_string base_name; /**< NAMES_BASENAME: the base name */
  uint32_t name_list_offset; /**< NAMES_LIST: offset of the first name from the start of the chain */
  bool remove;               /**< REMOVE_GUID set (only in WMIUPDATE answers) */
} wmiev_reginfo_block_view;

/**
 * @brief Validates @p len bytes at @p buf as a WMIREGINFO chain.
 *
 * Everything that a reader of the view needs is checked here, including every
 * name of every INSTANCE_LIST block, so the accessors below cannot fail for
 * in-range indexes.
 */
WMIEV_EXTERN wmiev_status wmiev_reginfo_validate(const void *buf, size_t len, uint32_t options,
                                                 wmiev_reginfo_view *view, wmiev_diag *diag);

/** @brief Record @p i (0 <= i < record_count); STATUS_INVALID_PARAMETER out of range. */
WMIEV_EXTERN wmiev_status wmiev_reginfo_record(const wmiev_reginfo_view *view, uint32_t i,
                                               wmiev_reginfo_record_view *out);

/**
 * @brief Block @p i over the whole chain (0 <= i < block_count), in chain
 *        order. Entries skipped as REMOVE_GUID in a WMIREGISTER answer are not
 *        counted. STATUS_INVALID_PARAMETER out of range.
 */
WMIEV_EXTERN wmiev_status wmiev_reginfo_block(const wmiev_reginfo_view *view, uint32_t i,
                                              wmiev_reginfo_block_view *out);

/**
 * @brief Name @p i (0 <= i < instance_count) of a NAMES_LIST block.
 * @return STATUS_INVALID_PARAMETER for another name source or an index out of range.
 */
WMIEV_EXTERN wmiev_status wmiev_reginfo_list_name(const wmiev_reginfo_view *view,
                                                  const wmiev_reginfo_block_view *block, uint32_t i,
                                                  wmiev_wire_string *out);

WMIEV_END_DECLS

#endif /* WMIEV_REGINFO_PARSE_H */
