/*
 * ObReferenceObject / ObDereferenceObject for the objects the host knows:
 * device objects (device.c counts those) and the types other parts of the
 * face register (the WMI data block objects of IoWMIOpenBlock), which start
 * with a wmiev__object_header. Each object's first member is a CSHORT Type,
 * so the type can be read before anything else is trusted.
 */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>

#include "host_private.h"

#define MAX_TYPES 8

typedef struct object_type {
  CSHORT type;
  void (*release)(void *obj);
} object_type;

static pthread_mutex_t g_types_lock = PTHREAD_MUTEX_INITIALIZER;
static object_type g_types[MAX_TYPES];

bool wmiev__register_object_type(CSHORT type, void (*release)(void *obj)) {
  bool ok = false;
  pthread_mutex_lock(&g_types_lock);
  for (size_t i = 0; i < MAX_TYPES; i++) {
    if (g_types[i].release == NULL || g_types[i].type == type) {
      g_types[i].type = type;
      g_types[i].release = release;
      ok = true;
      break;
    }
  }
  pthread_mutex_unlock(&g_types_lock);
  return ok;
}

static void (*release_of(CSHORT type))(void *) {
  void (*release)(void *) = NULL;
  pthread_mutex_lock(&g_types_lock);
  for (size_t i = 0; i < MAX_TYPES; i++) {
    if (g_types[i].release != NULL && g_types[i].type == type) {
      release = g_types[i].release;
      break;
    }
  }
  pthread_mutex_unlock(&g_types_lock);
  return release;
}

void wmiev__object_init(wmiev__object_header *header, CSHORT type, USHORT size) {
  header->Type = type;
  header->Size = size;
  __atomic_store_n(&header->PointerCount, 1, __ATOMIC_SEQ_CST);
}

LONG_PTR FASTCALL ObfReferenceObject(PVOID Object) {
  if (Object == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT, "ObReferenceObject(NULL)");
    return 0;
  }
  CSHORT type = *(const CSHORT *)Object;
  if (type == IO_TYPE_DEVICE) {
    wmiev__device_reference(Object);
    return 1;
  }
  if (release_of(type) == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "ObReferenceObject(%p): not an object the host knows (type %d)", Object,
                          (int)type);
    return 0;
  }
  wmiev__object_header *h = Object;
  return __atomic_add_fetch(&h->PointerCount, 1, __ATOMIC_SEQ_CST);
}

LONG_PTR FASTCALL ObfDereferenceObject(PVOID Object) {
  if (Object == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT, "ObDereferenceObject(NULL)");
    return 0;
  }
  CSHORT type = *(const CSHORT *)Object;
  if (type == IO_TYPE_DEVICE) {
    wmiev__device_dereference(Object);
    return 0;
  }
  void (*release)(void *) = release_of(type);
  if (release == NULL) {
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT,
                          "ObDereferenceObject(%p): not an object the host knows (type %d; "
                          "dereferenced after its last reference?)",
                          Object, (int)type);
    return 0;
  }
  wmiev__object_header *h = Object;
  LONG left = __atomic_sub_fetch(&h->PointerCount, 1, __ATOMIC_SEQ_CST);
  if (left < 0) {
    __atomic_add_fetch(&h->PointerCount, 1, __ATOMIC_SEQ_CST);
    wmiev__host_violation(WMIEV_HOST_RULE_OBJECT, "ObDereferenceObject(%p) below zero", Object);
    return 0;
  }
  if (left == 0) {
    release(Object);
  }
  return left;
}
