/* hmap: see hmap.h. */
#include "hmap.h"

#include <stdlib.h>
#include <string.h>

void hmap_init(struct hmap *m, size_t key_len)
{
	memset(m, 0, sizeof(*m));
	m->key_len = key_len <= HMAP_KEY_MAX ? key_len : HMAP_KEY_MAX;
}

void hmap_free(struct hmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

/* Keys are compared and hashed zero-padded to HMAP_KEY_MAX bytes (the
 * slots store them so): two 64-bit words, no variable-length memcmp. */
struct padded_key {
	uint64_t w[2];
};

static struct padded_key pad_key(const void *key, size_t n)
{
	struct padded_key k = { { 0, 0 } };

	memcpy(k.w, key, n);
	return k;
}

/* One multiply per word and a final mix, so that the low bits used as
 * the index depend on every key bit.  (Byte-at-a-time FNV cost a chain of
 * 12 dependent multiplies for a flow key, on every message.) */
static uint64_t hash_key(const struct padded_key *k)
{
	uint64_t h = k->w[0] * 0x9e3779b97f4a7c15ull ^ k->w[1] * 0xc2b2ae3d27d4eb4full;

	h ^= h >> 32;
	h *= 0xd6e8feb86659fd93ull;
	h ^= h >> 32;
	return h;
}

static bool key_equal(const uint8_t *slot_key, const struct padded_key *k)
{
	struct padded_key s;

	memcpy(s.w, slot_key, sizeof(s.w));
	return s.w[0] == k->w[0] && s.w[1] == k->w[1];
}

/* Where the key stored in slot j hashes to. */
static size_t slot_home(const struct hmap *m, size_t j)
{
	struct padded_key k;

	memcpy(k.w, m->slots[j].key, sizeof(k.w));
	return (size_t)hash_key(&k) & (m->cap - 1);
}

static size_t find_slot(const struct hmap *m, const void *key, bool *found)
{
	struct padded_key k = pad_key(key, m->key_len);
	size_t mask = m->cap - 1;
	size_t i = (size_t)hash_key(&k) & mask;

	for (;;) {
		const struct hmap_slot *s = &m->slots[i];

		if (!s->used) {
			*found = false;
			return i;
		}
		if (key_equal(s->key, &k)) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

static bool grow(struct hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16;
	struct hmap_slot *old = m->slots;
	size_t ocap = m->cap, i;

	m->slots = calloc(ncap, sizeof(*m->slots));
	if (!m->slots) {
		m->slots = old;
		return false;
	}
	m->cap = ncap;
	for (i = 0; i < ocap; i++) {
		bool found;
		size_t j;

		if (!old[i].used)
			continue;
		j = find_slot(m, old[i].key, &found);
		m->slots[j] = old[i];
	}
	free(old);
	return true;
}

void *hmap_get(const struct hmap *m, const void *key)
{
	bool found;
	size_t i;

	if (!m->count)
		return NULL;
	i = find_slot(m, key, &found);
	return found ? m->slots[i].val : NULL;
}

bool hmap_put(struct hmap *m, const void *key, void *val, void **old)
{
	bool found;
	size_t i;

	if (old)
		*old = NULL;
	/* Keep the load factor under 3/4 so probe chains stay short. */
	if ((m->count + 1) * 4 > m->cap * 3 && !grow(m))
		return false;
	i = find_slot(m, key, &found);
	if (found) {
		if (old)
			*old = m->slots[i].val;
	} else {
		memset(m->slots[i].key, 0, HMAP_KEY_MAX);
		memcpy(m->slots[i].key, key, m->key_len);
		m->slots[i].used = true;
		m->count++;
	}
	m->slots[i].val = val;
	return true;
}

void *hmap_del(struct hmap *m, const void *key)
{
	size_t mask, i, j;
	bool found;
	void *val;

	if (!m->count)
		return NULL;
	i = find_slot(m, key, &found);
	if (!found)
		return NULL;
	val = m->slots[i].val;
	mask = m->cap - 1;
	/* Backward-shift: move later members of the probe chain into the hole
	 * when their home slot does not lie cyclically in (i, j]. */
	j = i;
	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!m->slots[j].used)
			break;
		home = slot_home(m, j);
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].used = false;
	m->slots[i].val = NULL;
	m->count--;
	return val;
}

size_t hmap_count(const struct hmap *m)
{
	return m->count;
}

bool hmap_next(const struct hmap *m, size_t *iter, const void **key, void **val)
{
	while (*iter < m->cap) {
		const struct hmap_slot *s = &m->slots[(*iter)++];

		if (s->used) {
			if (key)
				*key = s->key;
			if (val)
				*val = s->val;
			return true;
		}
	}
	return false;
}

size_t hmap_forget_if(struct hmap *m, bool (*doomed)(const void *val, void *ctx),
		      void (*forget)(void *val, void *ctx), void *ctx)
{
	enum { BATCH = 64 };
	void *batch[BATCH], *v;
	size_t it, n, i, total = 0;

	do {
		n = 0;
		for (it = 0; n < BATCH && hmap_next(m, &it, NULL, &v);)
			if (doomed(v, ctx))
				batch[n++] = v;
		for (i = 0; i < n; i++)
			forget(batch[i], ctx);
		total += n;
	} while (n == BATCH);
	return total;
}
