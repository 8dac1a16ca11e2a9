/*
 * sal.h (WDK face): the source annotation language of the WDK, reduced to
 * nothing. Driver code written against the WDK annotates every parameter
 * (`_In_`, `_Out_opt_`, `_IRQL_requires_max_(DISPATCH_LEVEL)`, and the older
 * `__in`, `__drv_maxIRQL(x)` style); these only matter to Microsoft's static
 * analysis, so here each expands to nothing and the code compiles as is.
 *
 * Generated list; each name is guarded with #ifndef so that a driver (or
 * another header) that defines one of them first wins. Names that Linux
 * system headers use as identifiers (`__reserved`, `__bound`, `__range`,
 * `__callback`, `__override`, `__allocator`) are deliberately absent: an
 * empty macro would break those headers.
 */
#ifndef WMIEV_WDK_SAL_H
#define WMIEV_WDK_SAL_H

#ifndef _In_
#define _In_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Out_opt_
#define _Out_opt_
#endif
#ifndef _Inout_
#define _Inout_
#endif
#ifndef _Inout_opt_
#define _Inout_opt_
#endif
#ifndef _Outptr_
#define _Outptr_
#endif
#ifndef _Outptr_opt_
#define _Outptr_opt_
#endif
#ifndef _Outptr_result_maybenull_
#define _Outptr_result_maybenull_
#endif
#ifndef _Outptr_opt_result_maybenull_
#define _Outptr_opt_result_maybenull_
#endif
#ifndef _Outptr_result_nullonfailure_
#define _Outptr_result_nullonfailure_
#endif
#ifndef _Outptr_opt_result_nullonfailure_
#define _Outptr_opt_result_nullonfailure_
#endif
#ifndef _COM_Outptr_
#define _COM_Outptr_
#endif
#ifndef _COM_Outptr_opt_
#define _COM_Outptr_opt_
#endif
#ifndef _Result_nullonfailure_
#define _Result_nullonfailure_
#endif
#ifndef _In_z_
#define _In_z_
#endif
#ifndef _In_opt_z_
#define _In_opt_z_
#endif
#ifndef _Out_z_
#define _Out_z_
#endif
#ifndef _Inout_z_
#define _Inout_z_
#endif
#ifndef _Inout_opt_z_
#define _Inout_opt_z_
#endif
#ifndef _Ret_maybenull_
#define _Ret_maybenull_
#endif
#ifndef _Ret_notnull_
#define _Ret_notnull_
#endif
#ifndef _Ret_z_
#define _Ret_z_
#endif
#ifndef _Ret_maybenull_z_
#define _Ret_maybenull_z_
#endif
#ifndef _Ret_opt_
#define _Ret_opt_
#endif
#ifndef _Post_ptr_invalid_
#define _Post_ptr_invalid_
#endif
#ifndef _Post_invalid_
#define _Post_invalid_
#endif
#ifndef _Post_valid_
#define _Post_valid_
#endif
#ifndef _Pre_valid_
#define _Pre_valid_
#endif
#ifndef _Valid_
#define _Valid_
#endif
#ifndef _Notvalid_
#define _Notvalid_
#endif
#ifndef _Post_z_
#define _Post_z_
#endif
#ifndef _Pre_z_
#define _Pre_z_
#endif
#ifndef _Pre_notnull_
#define _Pre_notnull_
#endif
#ifndef _Pre_maybenull_
#define _Pre_maybenull_
#endif
#ifndef _Pre_null_
#define _Pre_null_
#endif
#ifndef _Post_notnull_
#define _Post_notnull_
#endif
#ifndef _Post_maybenull_
#define _Post_maybenull_
#endif
#ifndef _Post_null_
#define _Post_null_
#endif
#ifndef _Null_terminated_
#define _Null_terminated_
#endif
#ifndef _NullNull_terminated_
#define _NullNull_terminated_
#endif
#ifndef _Notnull_
#define _Notnull_
#endif
#ifndef _Maybenull_
#define _Maybenull_
#endif
#ifndef _Null_
#define _Null_
#endif
#ifndef _Check_return_
#define _Check_return_
#endif
#ifndef _Must_inspect_result_
#define _Must_inspect_result_
#endif
#ifndef _Use_decl_annotations_
#define _Use_decl_annotations_
#endif
#ifndef _IRQL_requires_same_
#define _IRQL_requires_same_
#endif
#ifndef _IRQL_saves_
#define _IRQL_saves_
#endif
#ifndef _IRQL_restores_
#define _IRQL_restores_
#endif
#ifndef _IRQL_uses_cancel_
#define _IRQL_uses_cancel_
#endif
#ifndef _IRQL_is_cancel_
#define _IRQL_is_cancel_
#endif
#ifndef _Kernel_float_saved_
#define _Kernel_float_saved_
#endif
#ifndef _Kernel_float_restored_
#define _Kernel_float_restored_
#endif
#ifndef _Kernel_float_used_
#define _Kernel_float_used_
#endif
#ifndef _Interlocked_
#define _Interlocked_
#endif
#ifndef _Interlocked_operand_
#define _Interlocked_operand_
#endif
#ifndef _Strict_type_match_
#define _Strict_type_match_
#endif
#ifndef _Literal_
#define _Literal_
#endif
#ifndef _Points_to_data_
#define _Points_to_data_
#endif
#ifndef _Reserved_
#define _Reserved_
#endif
#ifndef _Const_
#define _Const_
#endif
#ifndef _Printf_format_string_
#define _Printf_format_string_
#endif
#ifndef _Scanf_format_string_
#define _Scanf_format_string_
#endif
#ifndef _Frees_ptr_
#define _Frees_ptr_
#endif
#ifndef _Frees_ptr_opt_
#define _Frees_ptr_opt_
#endif
#ifndef _Pre_
#define _Pre_
#endif
#ifndef _Post_
#define _Post_
#endif
#ifndef _Analysis_noreturn_
#define _Analysis_noreturn_
#endif
#ifndef _Deref_out_
#define _Deref_out_
#endif
#ifndef _Deref_out_z_
#define _Deref_out_z_
#endif
#ifndef _Deref_pre_z_
#define _Deref_pre_z_
#endif
#ifndef _Deref_post_z_
#define _Deref_post_z_
#endif
#ifndef _Deref_in_
#define _Deref_in_
#endif
#ifndef _Deref_inout_
#define _Deref_inout_
#endif
#ifndef _Deref_out_opt_
#define _Deref_out_opt_
#endif
#ifndef _Deref_opt_out_
#define _Deref_opt_out_
#endif
#ifndef _Deref_opt_out_opt_
#define _Deref_opt_out_opt_
#endif
#ifndef _Deref_pre_maybenull_
#define _Deref_pre_maybenull_
#endif
#ifndef _Deref_post_maybenull_
#define _Deref_post_maybenull_
#endif
#ifndef _Deref_post_null_
#define _Deref_post_null_
#endif
#ifndef _Deref_pre_notnull_
#define _Deref_pre_notnull_
#endif
#ifndef _Deref_post_notnull_
#define _Deref_post_notnull_
#endif
#ifndef _Field_z_
#define _Field_z_
#endif
#ifndef _Pre_defensive_
#define _Pre_defensive_
#endif
#ifndef _Post_defensive_
#define _Post_defensive_
#endif
#ifndef _In_defensive_
#define _In_defensive_
#endif
#ifndef _Out_defensive_
#define _Out_defensive_
#endif
#ifndef _Inout_defensive_
#define _Inout_defensive_
#endif
#ifndef _Ret_valid_
#define _Ret_valid_
#endif
#ifndef _Readable_bytes_unknown_
#define _Readable_bytes_unknown_
#endif
#ifndef _Maybe_raises_SEH_exception_
#define _Maybe_raises_SEH_exception_
#endif
#ifndef _Raises_SEH_exception_
#define _Raises_SEH_exception_
#endif
#ifndef _Dispatch_type_unknown_
#define _Dispatch_type_unknown_
#endif
#ifndef _Kernel_requires_resource_not_held_unknown_
#define _Kernel_requires_resource_not_held_unknown_
#endif
#ifndef _Requires_no_locks_held_
#define _Requires_no_locks_held_
#endif
#ifndef _Acquires_nonreentrant_lock_unknown_
#define _Acquires_nonreentrant_lock_unknown_
#endif
#ifndef _No_competing_thread_
#define _No_competing_thread_
#endif
#ifndef _Benign_race_begin_
#define _Benign_race_begin_
#endif
#ifndef _Benign_race_end_
#define _Benign_race_end_
#endif
#ifndef _No_competing_thread_begin_
#define _No_competing_thread_begin_
#endif
#ifndef _No_competing_thread_end_
#define _No_competing_thread_end_
#endif
#ifndef _Lock_level_order_unknown_
#define _Lock_level_order_unknown_
#endif
#ifndef _Has_lock_kind_unknown_
#define _Has_lock_kind_unknown_
#endif
#ifndef _Notref_
#define _Notref_
#endif
#ifndef _Pre_unknown_
#define _Pre_unknown_
#endif
#ifndef _Post_unknown_
#define _Post_unknown_
#endif
#ifndef __in
#define __in
#endif
#ifndef __out
#define __out
#endif
#ifndef __inout
#define __inout
#endif
#ifndef __in_opt
#define __in_opt
#endif
#ifndef __out_opt
#define __out_opt
#endif
#ifndef __inout_opt
#define __inout_opt
#endif
#ifndef __deref_out
#define __deref_out
#endif
#ifndef __deref_out_opt
#define __deref_out_opt
#endif
#ifndef __deref_inout
#define __deref_inout
#endif
#ifndef __deref_in
#define __deref_in
#endif
#ifndef __deref_opt_out
#define __deref_opt_out
#endif
#ifndef __deref_opt_out_opt
#define __deref_opt_out_opt
#endif
#ifndef __deref_out_z
#define __deref_out_z
#endif
#ifndef __checkReturn
#define __checkReturn
#endif
#ifndef __nullterminated
#define __nullterminated
#endif
#ifndef __in_z
#define __in_z
#endif
#ifndef __in_opt_z
#define __in_opt_z
#endif
#ifndef __out_z
#define __out_z
#endif
#ifndef __inout_z
#define __inout_z
#endif
#ifndef __notnull
#define __notnull
#endif
#ifndef __maybenull
#define __maybenull
#endif
#ifndef __format_string
#define __format_string
#endif
#ifndef __drv_sameIRQL
#define __drv_sameIRQL
#endif
#ifndef __drv_savesIRQL
#define __drv_savesIRQL
#endif
#ifndef __drv_restoresIRQL
#define __drv_restoresIRQL
#endif
#ifndef __drv_useCancelIRQL
#define __drv_useCancelIRQL
#endif
#ifndef __drv_isCancelIRQL
#define __drv_isCancelIRQL
#endif
#ifndef __drv_inTry
#define __drv_inTry
#endif
#ifndef __drv_aliasesMem
#define __drv_aliasesMem
#endif
#ifndef __drv_isObjectPointer
#define __drv_isObjectPointer
#endif
#ifndef __drv_floatSaved
#define __drv_floatSaved
#endif
#ifndef __drv_floatRestored
#define __drv_floatRestored
#endif
#ifndef __drv_floatUsed
#define __drv_floatUsed
#endif
#ifndef __drv_Mode_impl
#define __drv_Mode_impl
#endif
#ifndef __drv_freesMem_impl
#define __drv_freesMem_impl
#endif
#ifndef __drv_when_impl
#define __drv_when_impl
#endif
#ifndef __drv_nonConstant
#define __drv_nonConstant
#endif
#ifndef __drv_constant
#define __drv_constant
#endif
#ifndef __drv_notPointer
#define __drv_notPointer
#endif
#ifndef __drv_isPointer
#define __drv_isPointer
#endif
#ifndef __drv_formatString_impl
#define __drv_formatString_impl
#endif
#ifndef __drv_dispatchType_other
#define __drv_dispatchType_other
#endif
#ifndef __drv_maxFunctionIRQL_impl
#define __drv_maxFunctionIRQL_impl
#endif
#ifndef __drv_neverHold_impl
#define __drv_neverHold_impl
#endif
#ifndef __drv_requiresIRQL_impl
#define __drv_requiresIRQL_impl
#endif
#ifndef __drv_typeConst
#define __drv_typeConst
#endif
#ifndef __drv_typeCond
#define __drv_typeCond
#endif
#ifndef __drv_typeBitset
#define __drv_typeBitset
#endif
#ifndef __drv_typeExpr
#define __drv_typeExpr
#endif
#ifndef __drv_acquiresCancelSpinLock
#define __drv_acquiresCancelSpinLock
#endif
#ifndef __drv_releasesCancelSpinLock
#define __drv_releasesCancelSpinLock
#endif
#ifndef __drv_mustHoldCancelSpinLock
#define __drv_mustHoldCancelSpinLock
#endif
#ifndef __drv_neverHoldCancelSpinLock
#define __drv_neverHoldCancelSpinLock
#endif
#ifndef __drv_acquiresCriticalRegion
#define __drv_acquiresCriticalRegion
#endif
#ifndef __drv_releasesCriticalRegion
#define __drv_releasesCriticalRegion
#endif
#ifndef __drv_mustHoldCriticalRegion
#define __drv_mustHoldCriticalRegion
#endif
#ifndef __drv_neverHoldCriticalRegion
#define __drv_neverHoldCriticalRegion
#endif
#ifndef __drv_acquiresPriorityRegion
#define __drv_acquiresPriorityRegion
#endif
#ifndef __drv_releasesPriorityRegion
#define __drv_releasesPriorityRegion
#endif
#ifndef __drv_mustHoldPriorityRegion
#define __drv_mustHoldPriorityRegion
#endif
#ifndef __drv_neverHoldPriorityRegion
#define __drv_neverHoldPriorityRegion
#endif
#ifndef __drv_setsCancelIRQL
#define __drv_setsCancelIRQL
#endif
#ifndef __drv_clearDoInit_impl
#define __drv_clearDoInit_impl
#endif
#ifndef __drv_valueIs_impl
#define __drv_valueIs_impl
#endif
#ifndef __drv_innerMustHoldGlobal_impl
#define __drv_innerMustHoldGlobal_impl
#endif
#ifndef _In_reads_
#define _In_reads_(x)
#endif
#ifndef _In_reads_bytes_
#define _In_reads_bytes_(x)
#endif
#ifndef _In_reads_opt_
#define _In_reads_opt_(x)
#endif
#ifndef _In_reads_bytes_opt_
#define _In_reads_bytes_opt_(x)
#endif
#ifndef _In_reads_z_
#define _In_reads_z_(x)
#endif
#ifndef _In_reads_or_z_
#define _In_reads_or_z_(x)
#endif
#ifndef _Out_writes_
#define _Out_writes_(x)
#endif
#ifndef _Out_writes_bytes_
#define _Out_writes_bytes_(x)
#endif
#ifndef _Out_writes_opt_
#define _Out_writes_opt_(x)
#endif
#ifndef _Out_writes_bytes_opt_
#define _Out_writes_bytes_opt_(x)
#endif
#ifndef _Out_writes_z_
#define _Out_writes_z_(x)
#endif
#ifndef _Out_writes_all_
#define _Out_writes_all_(x)
#endif
#ifndef _Out_writes_bytes_all_
#define _Out_writes_bytes_all_(x)
#endif
#ifndef _Out_writes_all_opt_
#define _Out_writes_all_opt_(x)
#endif
#ifndef _Out_writes_bytes_all_opt_
#define _Out_writes_bytes_all_opt_(x)
#endif
#ifndef _Inout_updates_
#define _Inout_updates_(x)
#endif
#ifndef _Inout_updates_bytes_
#define _Inout_updates_bytes_(x)
#endif
#ifndef _Inout_updates_opt_
#define _Inout_updates_opt_(x)
#endif
#ifndef _Inout_updates_bytes_opt_
#define _Inout_updates_bytes_opt_(x)
#endif
#ifndef _Inout_updates_z_
#define _Inout_updates_z_(x)
#endif
#ifndef _Inout_updates_all_
#define _Inout_updates_all_(x)
#endif
#ifndef _Inout_updates_bytes_all_
#define _Inout_updates_bytes_all_(x)
#endif
#ifndef _Outptr_result_buffer_
#define _Outptr_result_buffer_(x)
#endif
#ifndef _Outptr_result_bytebuffer_
#define _Outptr_result_bytebuffer_(x)
#endif
#ifndef _Outptr_opt_result_buffer_
#define _Outptr_opt_result_buffer_(x)
#endif
#ifndef _Outptr_opt_result_bytebuffer_
#define _Outptr_opt_result_bytebuffer_(x)
#endif
#ifndef _Outptr_result_buffer_maybenull_
#define _Outptr_result_buffer_maybenull_(x)
#endif
#ifndef _Outptr_result_bytebuffer_maybenull_
#define _Outptr_result_bytebuffer_maybenull_(x)
#endif
#ifndef _Ret_writes_
#define _Ret_writes_(x)
#endif
#ifndef _Ret_writes_bytes_
#define _Ret_writes_bytes_(x)
#endif
#ifndef _Ret_writes_maybenull_
#define _Ret_writes_maybenull_(x)
#endif
#ifndef _Ret_writes_bytes_maybenull_
#define _Ret_writes_bytes_maybenull_(x)
#endif
#ifndef _Ret_writes_z_
#define _Ret_writes_z_(x)
#endif
#ifndef _Post_writable_byte_size_
#define _Post_writable_byte_size_(x)
#endif
#ifndef _Post_writable_size_
#define _Post_writable_size_(x)
#endif
#ifndef _Post_readable_byte_size_
#define _Post_readable_byte_size_(x)
#endif
#ifndef _Post_readable_size_
#define _Post_readable_size_(x)
#endif
#ifndef _Post_equal_to_
#define _Post_equal_to_(x)
#endif
#ifndef _Post_satisfies_
#define _Post_satisfies_(x)
#endif
#ifndef _Pre_satisfies_
#define _Pre_satisfies_(x)
#endif
#ifndef _Satisfies_
#define _Satisfies_(x)
#endif
#ifndef _Success_
#define _Success_(x)
#endif
#ifndef _Return_type_success_
#define _Return_type_success_(x)
#endif
#ifndef _Function_class_
#define _Function_class_(x)
#endif
#ifndef _Dispatch_type_
#define _Dispatch_type_(x)
#endif
#ifndef _IRQL_requires_
#define _IRQL_requires_(x)
#endif
#ifndef _IRQL_requires_max_
#define _IRQL_requires_max_(x)
#endif
#ifndef _IRQL_requires_min_
#define _IRQL_requires_min_(x)
#endif
#ifndef _IRQL_raises_
#define _IRQL_raises_(x)
#endif
#ifndef _IRQL_always_function_max_
#define _IRQL_always_function_max_(x)
#endif
#ifndef _IRQL_always_function_min_
#define _IRQL_always_function_min_(x)
#endif
#ifndef _IRQL_limited_to_
#define _IRQL_limited_to_(x)
#endif
#ifndef _Kernel_clear_do_init_
#define _Kernel_clear_do_init_(x)
#endif
#ifndef _Kernel_requires_resource_held_
#define _Kernel_requires_resource_held_(x)
#endif
#ifndef _Kernel_requires_resource_not_held_
#define _Kernel_requires_resource_not_held_(x)
#endif
#ifndef _Kernel_acquires_resource_
#define _Kernel_acquires_resource_(x)
#endif
#ifndef _Kernel_releases_resource_
#define _Kernel_releases_resource_(x)
#endif
#ifndef _Requires_lock_held_
#define _Requires_lock_held_(x)
#endif
#ifndef _Requires_lock_not_held_
#define _Requires_lock_not_held_(x)
#endif
#ifndef _Requires_exclusive_lock_held_
#define _Requires_exclusive_lock_held_(x)
#endif
#ifndef _Requires_shared_lock_held_
#define _Requires_shared_lock_held_(x)
#endif
#ifndef _Acquires_lock_
#define _Acquires_lock_(x)
#endif
#ifndef _Releases_lock_
#define _Releases_lock_(x)
#endif
#ifndef _Acquires_exclusive_lock_
#define _Acquires_exclusive_lock_(x)
#endif
#ifndef _Releases_exclusive_lock_
#define _Releases_exclusive_lock_(x)
#endif
#ifndef _Acquires_shared_lock_
#define _Acquires_shared_lock_(x)
#endif
#ifndef _Releases_shared_lock_
#define _Releases_shared_lock_(x)
#endif
#ifndef _Guarded_by_
#define _Guarded_by_(x)
#endif
#ifndef _Write_guarded_by_
#define _Write_guarded_by_(x)
#endif
#ifndef _Analysis_assume_
#define _Analysis_assume_(x)
#endif
#ifndef _Always_
#define _Always_(x)
#endif
#ifndef _Writable_bytes_
#define _Writable_bytes_(x)
#endif
#ifndef _Readable_bytes_
#define _Readable_bytes_(x)
#endif
#ifndef _Writable_elements_
#define _Writable_elements_(x)
#endif
#ifndef _Readable_elements_
#define _Readable_elements_(x)
#endif
#ifndef _Struct_size_bytes_
#define _Struct_size_bytes_(x)
#endif
#ifndef _Field_size_
#define _Field_size_(x)
#endif
#ifndef _Field_size_bytes_
#define _Field_size_bytes_(x)
#endif
#ifndef _Field_size_opt_
#define _Field_size_opt_(x)
#endif
#ifndef _Field_size_bytes_opt_
#define _Field_size_bytes_opt_(x)
#endif
#ifndef _Field_size_full_
#define _Field_size_full_(x)
#endif
#ifndef _Field_size_bytes_full_
#define _Field_size_bytes_full_(x)
#endif
#ifndef _Field_size_full_opt_
#define _Field_size_full_opt_(x)
#endif
#ifndef _Field_size_bytes_full_opt_
#define _Field_size_bytes_full_opt_(x)
#endif
#ifndef _Printf_format_string_params_
#define _Printf_format_string_params_(x)
#endif
#ifndef _Post_readable_size_
#define _Post_readable_size_(x)
#endif
#ifndef _Deref_out_range_
#define _Deref_out_range_(x)
#endif
#ifndef _Deref_in_range_
#define _Deref_in_range_(x)
#endif
#ifndef _Deref_out_bound_
#define _Deref_out_bound_(x)
#endif
#ifndef _Frees_ptr_opt_impl_
#define _Frees_ptr_opt_impl_(x)
#endif
#ifndef _Out_writes_to_ptr_
#define _Out_writes_to_ptr_(x)
#endif
#ifndef _Out_writes_to_ptr_z_
#define _Out_writes_to_ptr_z_(x)
#endif
#ifndef _Out_writes_bytes_to_ptr_
#define _Out_writes_bytes_to_ptr_(x)
#endif
#ifndef _Pre_readable_size_
#define _Pre_readable_size_(x)
#endif
#ifndef _Pre_writable_size_
#define _Pre_writable_size_(x)
#endif
#ifndef _Pre_readable_byte_size_
#define _Pre_readable_byte_size_(x)
#endif
#ifndef _Pre_writable_byte_size_
#define _Pre_writable_byte_size_(x)
#endif
#ifndef _Ret_range_fixed_
#define _Ret_range_fixed_(x)
#endif
#ifndef _In_NLS_string_
#define _In_NLS_string_(x)
#endif
#ifndef _Pre_equal_to_
#define _Pre_equal_to_(x)
#endif
#ifndef _Inexpressible_
#define _Inexpressible_(x)
#endif
#ifndef _Notliteral_impl_
#define _Notliteral_impl_(x)
#endif
#ifndef _Post_same_lock_
#define _Post_same_lock_(x)
#endif
#ifndef _Lock_kind_mutex_
#define _Lock_kind_mutex_(x)
#endif
#ifndef _Has_lock_kind_
#define _Has_lock_kind_(x)
#endif
#ifndef _Create_lock_level_
#define _Create_lock_level_(x)
#endif
#ifndef _Lock_level_order_
#define _Lock_level_order_(x)
#endif
#ifndef _Acquires_nonreentrant_lock_
#define _Acquires_nonreentrant_lock_(x)
#endif
#ifndef _Releases_nonreentrant_lock_
#define _Releases_nonreentrant_lock_(x)
#endif
#ifndef _Requires_lock_held_impl_
#define _Requires_lock_held_impl_(x)
#endif
#ifndef _Interlocked_operand_impl_
#define _Interlocked_operand_impl_(x)
#endif
#ifndef __in_bcount
#define __in_bcount(x)
#endif
#ifndef __in_ecount
#define __in_ecount(x)
#endif
#ifndef __out_bcount
#define __out_bcount(x)
#endif
#ifndef __out_ecount
#define __out_ecount(x)
#endif
#ifndef __inout_bcount
#define __inout_bcount(x)
#endif
#ifndef __inout_ecount
#define __inout_ecount(x)
#endif
#ifndef __in_bcount_opt
#define __in_bcount_opt(x)
#endif
#ifndef __in_ecount_opt
#define __in_ecount_opt(x)
#endif
#ifndef __out_bcount_opt
#define __out_bcount_opt(x)
#endif
#ifndef __out_ecount_opt
#define __out_ecount_opt(x)
#endif
#ifndef __inout_bcount_opt
#define __inout_bcount_opt(x)
#endif
#ifndef __inout_ecount_opt
#define __inout_ecount_opt(x)
#endif
#ifndef __deref_out_bcount
#define __deref_out_bcount(x)
#endif
#ifndef __deref_out_ecount
#define __deref_out_ecount(x)
#endif
#ifndef __deref_out_bcount_opt
#define __deref_out_bcount_opt(x)
#endif
#ifndef __deref_out_ecount_opt
#define __deref_out_ecount_opt(x)
#endif
#ifndef __field_bcount
#define __field_bcount(x)
#endif
#ifndef __field_ecount
#define __field_ecount(x)
#endif
#ifndef __field_bcount_opt
#define __field_bcount_opt(x)
#endif
#ifndef __field_ecount_opt
#define __field_ecount_opt(x)
#endif
#ifndef __bcount
#define __bcount(x)
#endif
#ifndef __ecount
#define __ecount(x)
#endif
#ifndef __bcount_opt
#define __bcount_opt(x)
#endif
#ifndef __ecount_opt
#define __ecount_opt(x)
#endif
#ifndef __out_xcount
#define __out_xcount(x)
#endif
#ifndef __in_xcount
#define __in_xcount(x)
#endif
#ifndef __success
#define __success(x)
#endif
#ifndef __typefix
#define __typefix(x)
#endif
#ifndef __analysis_assume
#define __analysis_assume(x)
#endif
#ifndef __assume_bound
#define __assume_bound(x)
#endif
#ifndef __inexpressible_readableTo
#define __inexpressible_readableTo(x)
#endif
#ifndef __inexpressible_writableTo
#define __inexpressible_writableTo(x)
#endif
#ifndef __out_bcount_full
#define __out_bcount_full(x)
#endif
#ifndef __out_ecount_full
#define __out_ecount_full(x)
#endif
#ifndef __out_z_opt
#define __out_z_opt(x)
#endif
#ifndef __in_bcount_z
#define __in_bcount_z(x)
#endif
#ifndef __in_ecount_z
#define __in_ecount_z(x)
#endif
#ifndef __out_ecount_z
#define __out_ecount_z(x)
#endif
#ifndef __out_bcount_z
#define __out_bcount_z(x)
#endif
#ifndef __drv_dispatchType
#define __drv_dispatchType(x)
#endif
#ifndef __drv_maxIRQL
#define __drv_maxIRQL(x)
#endif
#ifndef __drv_minIRQL
#define __drv_minIRQL(x)
#endif
#ifndef __drv_requiresIRQL
#define __drv_requiresIRQL(x)
#endif
#ifndef __drv_setsIRQL
#define __drv_setsIRQL(x)
#endif
#ifndef __drv_raisesIRQL
#define __drv_raisesIRQL(x)
#endif
#ifndef __drv_functionClass
#define __drv_functionClass(x)
#endif
#ifndef __drv_allocatesMem
#define __drv_allocatesMem(x)
#endif
#ifndef __drv_freesMem
#define __drv_freesMem(x)
#endif
#ifndef __drv_maxFunctionIRQL
#define __drv_maxFunctionIRQL(x)
#endif
#ifndef __drv_minFunctionIRQL
#define __drv_minFunctionIRQL(x)
#endif
#ifndef __drv_savesIRQLGlobal
#define __drv_savesIRQLGlobal(x)
#endif
#ifndef __drv_restoresIRQLGlobal
#define __drv_restoresIRQLGlobal(x)
#endif
#ifndef __drv_clearDoInit
#define __drv_clearDoInit(x)
#endif
#ifndef __drv_valueIs
#define __drv_valueIs(x)
#endif
#ifndef __drv_strictTypeMatch
#define __drv_strictTypeMatch(x)
#endif
#ifndef __drv_strictType
#define __drv_strictType(x)
#endif
#ifndef __drv_reportError
#define __drv_reportError(x)
#endif
#ifndef __drv_mustHold
#define __drv_mustHold(x)
#endif
#ifndef __drv_neverHold
#define __drv_neverHold(x)
#endif
#ifndef __drv_acquiresResource
#define __drv_acquiresResource(x)
#endif
#ifndef __drv_releasesResource
#define __drv_releasesResource(x)
#endif
#ifndef __drv_in
#define __drv_in(x)
#endif
#ifndef __drv_out
#define __drv_out(x)
#endif
#ifndef __drv_deref
#define __drv_deref(x)
#endif
#ifndef __drv_fun
#define __drv_fun(x)
#endif
#ifndef __drv_ret
#define __drv_ret(x)
#endif
#ifndef __drv_Mode
#define __drv_Mode(x)
#endif
#ifndef __drv_completionType
#define __drv_completionType(x)
#endif
#ifndef __drv_formatString
#define __drv_formatString(x)
#endif
#ifndef __drv_preferredFunction_impl
#define __drv_preferredFunction_impl(x)
#endif
#ifndef __drv_interlocked
#define __drv_interlocked(x)
#endif
#ifndef __drv_out_deref
#define __drv_out_deref(x)
#endif
#ifndef __drv_in_deref
#define __drv_in_deref(x)
#endif
#ifndef __drv_acquiresExclusiveResource
#define __drv_acquiresExclusiveResource(x)
#endif
#ifndef __drv_releasesExclusiveResource
#define __drv_releasesExclusiveResource(x)
#endif
#ifndef __drv_mustHoldGlobal
#define __drv_mustHoldGlobal(x)
#endif
#ifndef __drv_neverHoldGlobal
#define __drv_neverHoldGlobal(x)
#endif
#ifndef __drv_acquiresResourceGlobal
#define __drv_acquiresResourceGlobal(x)
#endif
#ifndef __drv_releasesResourceGlobal
#define __drv_releasesResourceGlobal(x)
#endif
#ifndef __drv_unit
#define __drv_unit(x)
#endif
#ifndef __drv_when_impl1
#define __drv_when_impl1(x)
#endif
#ifndef __drv_dispatchType_impl
#define __drv_dispatchType_impl(x)
#endif
#ifndef __drv_callsIRQLfunc
#define __drv_callsIRQLfunc(x)
#endif
#ifndef __drv_functionClass_impl
#define __drv_functionClass_impl(x)
#endif
#ifndef _In_range_
#define _In_range_(x, y)
#endif
#ifndef _Out_range_
#define _Out_range_(x, y)
#endif
#ifndef _Ret_range_
#define _Ret_range_(x, y)
#endif
#ifndef _Field_range_
#define _Field_range_(x, y)
#endif
#ifndef _When_
#define _When_(x, y)
#endif
#ifndef _At_
#define _At_(x, y)
#endif
#ifndef _Out_writes_to_
#define _Out_writes_to_(x, y)
#endif
#ifndef _Out_writes_bytes_to_
#define _Out_writes_bytes_to_(x, y)
#endif
#ifndef _Out_writes_to_opt_
#define _Out_writes_to_opt_(x, y)
#endif
#ifndef _Out_writes_bytes_to_opt_
#define _Out_writes_bytes_to_opt_(x, y)
#endif
#ifndef _Inout_updates_to_
#define _Inout_updates_to_(x, y)
#endif
#ifndef _Inout_updates_bytes_to_
#define _Inout_updates_bytes_to_(x, y)
#endif
#ifndef _Field_size_part_
#define _Field_size_part_(x, y)
#endif
#ifndef _Field_size_bytes_part_
#define _Field_size_bytes_part_(x, y)
#endif
#ifndef _Field_size_part_opt_
#define _Field_size_part_opt_(x, y)
#endif
#ifndef _Field_size_bytes_part_opt_
#define _Field_size_bytes_part_opt_(x, y)
#endif
#ifndef _Ret_writes_to_
#define _Ret_writes_to_(x, y)
#endif
#ifndef _Ret_writes_bytes_to_
#define _Ret_writes_bytes_to_(x, y)
#endif
#ifndef _Ret_writes_to_maybenull_
#define _Ret_writes_to_maybenull_(x, y)
#endif
#ifndef _Ret_writes_bytes_to_maybenull_
#define _Ret_writes_bytes_to_maybenull_(x, y)
#endif
#ifndef _IRQL_saves_global_
#define _IRQL_saves_global_(x, y)
#endif
#ifndef _IRQL_restores_global_
#define _IRQL_restores_global_(x, y)
#endif
#ifndef _Requires_lock_held_global_
#define _Requires_lock_held_global_(x, y)
#endif
#ifndef _Acquires_lock_global_
#define _Acquires_lock_global_(x, y)
#endif
#ifndef _Deref_out_range_2_
#define _Deref_out_range_2_(x, y)
#endif
#ifndef _Post_satisfies_2_
#define _Post_satisfies_2_(x, y)
#endif
#ifndef __out_bcount_part
#define __out_bcount_part(x, y)
#endif
#ifndef __out_ecount_part
#define __out_ecount_part(x, y)
#endif
#ifndef __inout_bcount_part
#define __inout_bcount_part(x, y)
#endif
#ifndef __inout_ecount_part
#define __inout_ecount_part(x, y)
#endif
#ifndef __out_bcount_part_opt
#define __out_bcount_part_opt(x, y)
#endif
#ifndef __out_ecount_part_opt
#define __out_ecount_part_opt(x, y)
#endif
#ifndef __in_range
#define __in_range(x, y)
#endif
#ifndef __out_range
#define __out_range(x, y)
#endif
#ifndef __deref_out_range
#define __deref_out_range(x, y)
#endif
#ifndef __drv_when
#define __drv_when(x, y)
#endif
#ifndef __drv_arg
#define __drv_arg(x, y)
#endif
#ifndef __drv_preferredFunction
#define __drv_preferredFunction(x, y)
#endif
#ifndef __drv_innerMustHoldGlobal
#define __drv_innerMustHoldGlobal(x, y)
#endif
#ifndef __drv_innerNeverHoldGlobal
#define __drv_innerNeverHoldGlobal(x, y)
#endif
#ifndef __drv_at
#define __drv_at(x, y)
#endif
#ifndef __drv_mustHoldGlobal2
#define __drv_mustHoldGlobal2(x, y)
#endif
#ifndef __drv_savesIRQLGlobal2
#define __drv_savesIRQLGlobal2(x, y)
#endif
#ifndef __drv_restoresIRQLGlobal2
#define __drv_restoresIRQLGlobal2(x, y)
#endif
#ifndef _At_buffer_
#define _At_buffer_(a, b, c, d)
#endif

#endif /* WMIEV_WDK_SAL_H */
