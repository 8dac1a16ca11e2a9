/*
 * Doubly linked lists threaded through the `prev` and `next` members of any
 * struct, reached from a head pointer (and, for the _TAIL forms, a tail
 * pointer too). Macros, because C11 has no generics and the lists hold
 * different types. The caller provides whatever locking the list needs.
 */
#ifndef WMIEV_CORE_LIST_H
#define WMIEV_CORE_LIST_H

#include <stddef.h>

/* Puts `node` first. */
#define WMIEV__LIST_PUSH_FRONT(head, node)                                                         \
  do {                                                                                             \
    (node)->prev = NULL;                                                                           \
    (node)->next = (head);                                                                         \
    if ((head) != NULL) {                                                                          \
      (head)->prev = (node);                                                                       \
    }                                                                                              \
    (head) = (node);                                                                               \
  } while (0)

/* Takes `node` out of a list that has a head pointer only. */
#define WMIEV__LIST_UNLINK(head, node)                                                             \
  do {                                                                                             \
    if ((node)->prev != NULL) {                                                                    \
      (node)->prev->next = (node)->next;                                                           \
    } else {                                                                                       \
      (head) = (node)->next;                                                                       \
    }                                                                                              \
    if ((node)->next != NULL) {                                                                    \
      (node)->next->prev = (node)->prev;                                                           \
    }                                                                                              \
  } while (0)

/* Puts `node` last in a list with head and tail pointers. */
#define WMIEV__LIST_PUSH_BACK_TAIL(head, tail, node)                                               \
  do {                                                                                             \
    (node)->next = NULL;                                                                           \
    (node)->prev = (tail);                                                                         \
    if ((tail) != NULL) {                                                                          \
      (tail)->next = (node);                                                                       \
    } else {                                                                                       \
      (head) = (node);                                                                             \
    }                                                                                              \
    (tail) = (node);                                                                               \
  } while (0)

/* Takes `node` out of a list with head and tail pointers. */
#define WMIEV__LIST_UNLINK_TAIL(head, tail, node)                                                  \
  do {                                                                                             \
    if ((node)->next == NULL) {                                                                    \
      (tail) = (node)->prev;                                                                       \
    }                                                                                              \
    WMIEV__LIST_UNLINK(head, node);                                                                \
  } while (0)

#endif /* WMIEV_CORE_LIST_H */
