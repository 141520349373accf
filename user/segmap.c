/* segmap: see segmap.h. */
#include "segmap.h"

#include <stdlib.h>
#include <string.h>

/* flow_key (12 bytes, no padding) then the direction. */
#define SEGMAP_KEY_LEN (sizeof(struct flow_key) + 1)

static void make_key(uint8_t *key, const struct flow_key *k, enum ca_dir dir)
{
	memcpy(key, k, sizeof(*k));
	key[sizeof(*k)] = (uint8_t)dir;
}

void segmap_init(struct segmap *m)
{
	_Static_assert(SEGMAP_KEY_LEN <= HMAP_KEY_MAX, "segmap key too long");
	hmap_init(&m->map, SEGMAP_KEY_LEN);
}

void segmap_free(struct segmap *m)
{
	size_t it = 0;
	const void *key;
	void *val;

	while (hmap_next(&m->map, &it, &key, &val))
		free(val);
	hmap_free(&m->map);
}

void segmap_note(struct segmap *m, const struct flow_key *k, enum ca_dir dir,
		 const struct seg_pos *p)
{
	uint8_t key[HMAP_KEY_MAX];
	struct seg_ring *r;

	make_key(key, k, dir);
	r = hmap_get(&m->map, key);
	if (!r) {
		if (hmap_count(&m->map) >= SEGMAP_MAX_DIRS)
			return;
		r = calloc(1, sizeof(*r));
		if (!r)
			return;
		if (!hmap_put(&m->map, key, r, NULL)) {
			free(r);
			return;
		}
	}
	r->s[r->next] = *p;
	r->next = (r->next + 1) % SEGMAP_KEEP;
	if (r->n < SEGMAP_KEEP)
		r->n++;
}

const struct seg_ring *segmap_ring(const struct segmap *m, const struct flow_key *k,
				   enum ca_dir dir)
{
	uint8_t key[HMAP_KEY_MAX];

	make_key(key, k, dir);
	return hmap_get(&m->map, key);
}

bool seg_ring_find(const struct seg_ring *r, uint32_t seq, struct seg_pos *out)
{
	unsigned i;

	if (!r)
		return false;
	for (i = 1; i <= r->n; i++) {
		const struct seg_pos *p = &r->s[(r->next + SEGMAP_KEEP - i) % SEGMAP_KEEP];

		/* Wrapping sequence numbers: the distance from the start. */
		if ((uint32_t)(seq - p->seq) < p->len) {
			*out = *p;
			return true;
		}
	}
	return false;
}

void segmap_forget(struct segmap *m, const struct flow_key *k)
{
	uint8_t key[HMAP_KEY_MAX];
	int d;

	for (d = CA_DIR_REQUEST; d <= CA_DIR_RESPONSE; d++) {
		make_key(key, k, (enum ca_dir)d);
		free(hmap_del(&m->map, key));
	}
}
