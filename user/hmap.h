/* hmap: open-addressing hash map with fixed-size keys (<= HMAP_KEY_MAX
 * bytes) and pointer values.  Used for flows, circuits and channel ids.
 * Linear probing with backward-shift deletion, so no tombstones build up
 * in long captures where channels come and go.
 */
#ifndef CATRACE_HMAP_H
#define CATRACE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HMAP_KEY_MAX 16

struct hmap_slot {
	uint8_t key[HMAP_KEY_MAX];
	void *val;
	bool used;
};

struct hmap {
	struct hmap_slot *slots;
	size_t cap;     /* power of two */
	size_t count;
	size_t key_len;
};

void hmap_init(struct hmap *m, size_t key_len);
void hmap_free(struct hmap *m);
void *hmap_get(const struct hmap *m, const void *key);
/* Insert or replace; returns false only when memory runs out. The previous
 * value, if any, is returned through *old (may be NULL). */
bool hmap_put(struct hmap *m, const void *key, void *val, void **old);
/* Remove; returns the value that was stored, or NULL. */
void *hmap_del(struct hmap *m, const void *key);
size_t hmap_count(const struct hmap *m);

/* Iterate: for (i = 0; hmap_next(m, &i, &key, &val); ) ...  Do not insert
 * while iterating; deleting the current entry is not supported either. */
bool hmap_next(const struct hmap *m, size_t *iter, const void **key, void **val);

/* Let go of every value `doomed` picks: `forget` is called for each and
 * must take it out of the map (it may free it).  The map is walked in
 * batches, never changed while walked.  Returns how many went. */
size_t hmap_forget_if(struct hmap *m, bool (*doomed)(const void *val, void *ctx),
		      void (*forget)(void *val, void *ctx), void *ctx);

/* Key helper for the many maps keyed by one 32-bit id. */
static inline void *hmap_get_u32(const struct hmap *m, uint32_t k) { return hmap_get(m, &k); }
static inline bool hmap_put_u32(struct hmap *m, uint32_t k, void *v, void **old) { return hmap_put(m, &k, v, old); }
static inline void *hmap_del_u32(struct hmap *m, uint32_t k) { return hmap_del(m, &k); }

#endif
