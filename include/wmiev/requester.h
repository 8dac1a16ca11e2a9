/**
 * @file requester.h
 * @brief The consumer side of queries, sets and methods: what WMI does when a
 *        consumer asks for data (IoWMIQueryAllData, IoWMIQuerySingleInstance,
 *        IoWMISetSingleInstance, IoWMISetSingleItem, IoWMIExecuteMethod).
 *
 * Each call builds the request WNODE, sends the IRP to the providers of the
 * GUID, grows its buffer whenever a provider answers with a WNODE_TOO_SMALL,
 * and returns the provider's reply WNODE in the caller's buffer (two-call
 * pattern on @p size: too small → STATUS_BUFFER_TOO_SMALL and the size needed).
 * An instance is named either by a static name (resolved through the
 * registry to its provider and index), by provider id + index, or by a
 * dynamic name, which is offered to each provider of the GUID in
 * registration order until one does not answer STATUS_WMI_INSTANCE_NOT_FOUND.
 *
 * Windows kernel builds: IoWMIOpenBlock, then IoWMIQueryAllData,
 * IoWMIQuerySingleInstance, IoWMISetSingleInstance, IoWMISetSingleItem or
 * IoWMIExecuteMethod, then ObDereferenceObject; IRQL <= APC_LEVEL. Queries
 * run into a nonpaged buffer that grows on STATUS_BUFFER_TOO_SMALL and are
 * copied to @p buf (same two-call contract). Instances are named by name
 * only (provider_id is not used; provider id + index gives
 * STATUS_NOT_SUPPORTED). wmiev_send_function_control() returns
 * STATUS_NOT_SUPPORTED: WMI sends those requests itself.
 */
#ifndef WMIEV_REQUESTER_H
#define WMIEV_REQUESTER_H

#include "registry.h"

WMIEV_BEGIN_DECLS

/**
 * Names one instance of a block. Zero-initialise, then set one form:
 *  - name: a static name (sent to its owner) or a dynamic one (offered to
 *    each dynamic-name provider in turn);
 *  - name + provider_id: that name, asked of that provider only;
 *  - provider_id + index (name NULL): a static instance of that provider.
 */
typedef struct wmiev_instance_ref {
  const uint16_t *name;  /**< UTF-16 units */
  size_t name_units;
  uint32_t provider_id;  /**< the provider to ask (0: any, by name) */
  uint32_t index;        /**< static index, with name NULL */
} wmiev_instance_ref;

/**
 * @brief IRP_MN_QUERY_ALL_DATA to every provider of @p guid; the replies are
 *        copied one after the other into @p buf (each 8-byte aligned) and
 *        chained through WnodeHeader.Linkage (offset to the next, 0 = last),
 *        as IoWMIQueryAllData returns them.
 * @param size in: bytes at @p buf; out: bytes used, or needed
 * @return STATUS_SUCCESS, STATUS_BUFFER_TOO_SMALL, STATUS_WMI_GUID_NOT_FOUND
 *         (no provider), or the first provider failure.
 */
WMIEV_EXTERN wmiev_status wmiev_query_all_data(wmiev_registry *registry, const GUID *guid,
                                               void *buf, uint32_t *size, wmiev_diag *diag);

/** @brief IRP_MN_QUERY_SINGLE_INSTANCE; the reply WNODE_SINGLE_INSTANCE lands in @p buf. */
WMIEV_EXTERN wmiev_status wmiev_query_single_instance(wmiev_registry *registry, const GUID *guid,
                                                      const wmiev_instance_ref *instance,
                                                      void *buf, uint32_t *size,
                                                      wmiev_diag *diag);

/** @brief IRP_MN_CHANGE_SINGLE_INSTANCE with @p data as the new instance data. */
WMIEV_EXTERN wmiev_status wmiev_set_single_instance(wmiev_registry *registry, const GUID *guid,
                                                    const wmiev_instance_ref *instance,
                                                    const void *data, uint32_t data_size,
                                                    wmiev_diag *diag);

/** @brief IRP_MN_CHANGE_SINGLE_ITEM for item @p item_id. */
WMIEV_EXTERN wmiev_status wmiev_set_single_item(wmiev_registry *registry, const GUID *guid,
                                                const wmiev_instance_ref *instance,
                                                uint32_t item_id, const void *data,
                                                uint32_t data_size, wmiev_diag *diag);

/**
 * @brief IRP_MN_EXECUTE_METHOD: method @p method_id with @p in as input; the
 *        output data (not the WNODE) is copied to @p out.
 * @param out_size in: bytes at @p out; out: output bytes, or needed
 */
WMIEV_EXTERN wmiev_status wmiev_execute_method(wmiev_registry *registry, const GUID *guid,
                                               const wmiev_instance_ref *instance,
                                               uint32_t method_id, const void *in,
                                               uint32_t in_size, void *out, uint32_t *out_size,
                                               wmiev_diag *diag);

/**
 * @brief Sends IRP_MN_ENABLE/DISABLE_EVENTS or _COLLECTION (@p minor) for
 *        @p guid to one provider, with the WNODE_HEADER buffer WMI sends.
 *        The bus uses this for its reference counting; tests use it directly.
 */
WMIEV_EXTERN wmiev_status wmiev_send_function_control(wmiev_device *device, const GUID *guid,
                                                      uint8_t minor, wmiev_diag *diag);

WMIEV_END_DECLS

#endif /* WMIEV_REQUESTER_H */
