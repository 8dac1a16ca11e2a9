/*
 * The smallest driver image, linked with the whole of libwmiev.a
 * (--whole-archive) by the target wmiev_kernel_link_check: the example driver
 * pulls in only the objects it uses, so this image is what proves that every
 * object of the kernel library links against ntoskrnl.exe (and libgcc)
 * alone. tests/windows/check-sys.sh checks it in the CI stage "windows".
 */
#include <ddk/wdm.h>

DRIVER_INITIALIZE DriverEntry;

NTSTATUS NTAPI DriverEntry(PDRIVER_OBJECT DriverObject, PUNICODE_STRING RegistryPath) {
  UNREFERENCED_PARAMETER(DriverObject);
  UNREFERENCED_PARAMETER(RegistryPath);
  return STATUS_UNSUCCESSFUL; /* nothing to do: never stays loaded */
}
