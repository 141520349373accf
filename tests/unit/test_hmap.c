/* Unit tests for user/hmap.c: open addressing with backward-shift deletion.
 *
 * Random keys from a fixed-seed generator; after every batch of changes the
 * map is compared with a plain reference (sorted arrays), so any entry lost
 * or resurrected by a backward shift shows up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hmap.h"

static uint64_t rng_state;

static uint32_t rng(void)
{
	/* xorshift64*: reproducible. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static void shuffle(uint32_t *v, size_t n)
{
	size_t i;

	for (i = n; i > 1; i--) {
		size_t j = rng() % i;
		uint32_t t = v[i - 1];

		v[i - 1] = v[j];
		v[j] = t;
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Values are never NULL: key k maps to k ^ salt, plus one bit to stay
 * clear of 0. */
static void *val_of(uint32_t k, uint32_t salt)
{
	return (void *)(((uintptr_t)(k ^ salt) << 1) | 1);
}

#define N 100000

/* N distinct random keys. */
static uint32_t *random_keys(size_t n)
{
	uint32_t *k = malloc(n * sizeof(*k));
	size_t i, j;

	assert_non_null(k);
	for (;;) {
		for (i = 0; i < n; i++)
			k[i] = rng();
		qsort(k, n, sizeof(*k), cmp_u32);
		for (i = 1, j = 1; i < n; i++)
			if (k[i] != k[j - 1])
				k[j++] = k[i];
		if (j == n)
			break;
		/* Rare duplicates: top up and retry. */
	}
	shuffle(k, n);
	return k;
}

static void test_insert_delete_random(void **state)
{
	struct hmap m;
	uint32_t *keys;
	size_t i, it;
	const void *kp;
	void *vp;
	size_t seen;

	(void)state;
	rng_state = 0x0123456789ABCDEFull;
	keys = random_keys(N);
	hmap_init(&m, sizeof(uint32_t));
	assert_int_equal(hmap_count(&m), 0);
	assert_null(hmap_get_u32(&m, keys[0]));
	assert_null(hmap_del_u32(&m, keys[0]));

	for (i = 0; i < N; i++) {
		void *old = (void *)0x1;

		assert_true(hmap_put_u32(&m, keys[i], val_of(keys[i], 0), &old));
		assert_null(old);
	}
	assert_int_equal(hmap_count(&m), N);
	for (i = 0; i < N; i++)
		assert_ptr_equal(hmap_get_u32(&m, keys[i]), val_of(keys[i], 0));

	/* Delete half, in an order unrelated to insertion. */
	shuffle(keys, N);
	for (i = 0; i < N / 2; i++) {
		assert_ptr_equal(hmap_del_u32(&m, keys[i]), val_of(keys[i], 0));
		/* Every 1000 deletions, all survivors must still be found. */
		if (i % 1000 == 999) {
			size_t j;

			for (j = i + 1; j < N; j++)
				if (hmap_get_u32(&m, keys[j]) != val_of(keys[j], 0))
					fail_msg("key %08x lost after %zu deletions",
						 keys[j], i + 1);
		}
	}
	assert_int_equal(hmap_count(&m), N - N / 2);
	for (i = 0; i < N / 2; i++) {
		assert_null(hmap_get_u32(&m, keys[i]));
		assert_null(hmap_del_u32(&m, keys[i]));
	}
	for (i = N / 2; i < N; i++)
		assert_ptr_equal(hmap_get_u32(&m, keys[i]), val_of(keys[i], 0));
	assert_int_equal(hmap_count(&m), N - N / 2);

	/* Replace every remaining value: the old one is handed back. */
	for (i = N / 2; i < N; i++) {
		void *old = NULL;

		assert_true(hmap_put_u32(&m, keys[i], val_of(keys[i], 0x5A5A5A5A), &old));
		assert_ptr_equal(old, val_of(keys[i], 0));
	}
	assert_int_equal(hmap_count(&m), N - N / 2);
	for (i = N / 2; i < N; i++)
		assert_ptr_equal(hmap_get_u32(&m, keys[i]), val_of(keys[i], 0x5A5A5A5A));
	/* Replace with NULL for *old. */
	assert_true(hmap_put_u32(&m, keys[N - 1], val_of(keys[N - 1], 7), NULL));
	assert_ptr_equal(hmap_get_u32(&m, keys[N - 1]), val_of(keys[N - 1], 7));
	assert_true(hmap_put_u32(&m, keys[N - 1], val_of(keys[N - 1], 0x5A5A5A5A), NULL));

	/* Iterate: every live entry exactly once, with its value. */
	qsort(keys + N / 2, N - N / 2, sizeof(*keys), cmp_u32);
	seen = 0;
	it = 0;
	while (hmap_next(&m, &it, &kp, &vp)) {
		uint32_t k;
		uint32_t *hit;

		memcpy(&k, kp, sizeof(k));
		hit = bsearch(&k, keys + N / 2, N - N / 2, sizeof(*keys), cmp_u32);
		if (!hit)
			fail_msg("iteration returned deleted key %08x", k);
		assert_ptr_equal(vp, val_of(k, 0x5A5A5A5A));
		seen++;
	}
	assert_int_equal(seen, N - N / 2);
	/* NULL key/value pointers are allowed. */
	seen = 0;
	it = 0;
	while (hmap_next(&m, &it, NULL, NULL))
		seen++;
	assert_int_equal(seen, N - N / 2);

	/* Delete the rest: empty, and usable again. */
	for (i = N / 2; i < N; i++)
		assert_non_null(hmap_del_u32(&m, keys[i]));
	assert_int_equal(hmap_count(&m), 0);
	it = 0;
	assert_false(hmap_next(&m, &it, NULL, NULL));
	assert_true(hmap_put_u32(&m, 42, val_of(42, 0), NULL));
	assert_ptr_equal(hmap_get_u32(&m, 42), val_of(42, 0));
	assert_int_equal(hmap_count(&m), 1);
	hmap_free(&m);
	assert_int_equal(hmap_count(&m), 0);
	assert_null(hmap_get_u32(&m, 42));
	free(keys);
}

/* A small map churned hard: many deletions land on probe chains that wrap
 * around the end of the table, which is where backward shifting is easy to
 * get wrong.  The map is checked against the reference after every step. */
static void test_churn_small(void **state)
{
	enum { POOL = 64, STEPS = 200000 };
	uint32_t pool[POOL];
	bool live[POOL];
	struct hmap m;
	size_t step, i, n = 0;

	(void)state;
	rng_state = 0xFEEDFACECAFEBEEFull;
	for (i = 0; i < POOL; i++) {
		pool[i] = rng();
		live[i] = false;
	}
	hmap_init(&m, sizeof(uint32_t));
	for (step = 0; step < STEPS; step++) {
		size_t k = rng() % POOL;

		/* Keep 8..12 entries in a map that stays at 16 slots. */
		if (live[k] && (n > 8 || (rng() & 1))) {
			assert_ptr_equal(hmap_del_u32(&m, pool[k]), val_of(pool[k], 0));
			live[k] = false;
			n--;
		} else if (!live[k] && n < 12) {
			void *old = (void *)0x1;

			assert_true(hmap_put_u32(&m, pool[k], val_of(pool[k], 0), &old));
			assert_null(old);
			live[k] = true;
			n++;
		}
		assert_int_equal(hmap_count(&m), n);
		for (i = 0; i < POOL; i++) {
			void *v = hmap_get_u32(&m, pool[i]);

			if (live[i] && v != val_of(pool[i], 0))
				fail_msg("step %zu: live key %08x not found", step, pool[i]);
			if (!live[i] && v != NULL)
				fail_msg("step %zu: deleted key %08x found", step, pool[i]);
		}
	}
	assert_int_equal(m.cap, 16);
	hmap_free(&m);
}

/* Keys of other lengths (the flow and search keys are 12 and 16 bytes);
 * only key_len bytes of a key are significant. */
static void test_wide_keys(void **state)
{
	struct key12 {
		uint32_t a, b;
		uint16_t c, d;
	};
	struct hmap m;
	struct key12 k;
	size_t i;

	(void)state;
	assert_int_equal(sizeof(struct key12), 12);
	hmap_init(&m, sizeof(struct key12));
	for (i = 0; i < 5000; i++) {
		memset(&k, 0, sizeof(k));
		k.a = (uint32_t)i;
		k.b = 0x0A000002;
		k.c = (uint16_t)(40000 + i % 7);
		k.d = 5064;
		assert_true(hmap_put(&m, &k, val_of((uint32_t)i, 1), NULL));
	}
	assert_int_equal(hmap_count(&m), 5000);
	for (i = 0; i < 5000; i += 2) {
		memset(&k, 0, sizeof(k));
		k.a = (uint32_t)i;
		k.b = 0x0A000002;
		k.c = (uint16_t)(40000 + i % 7);
		k.d = 5064;
		assert_ptr_equal(hmap_del(&m, &k), val_of((uint32_t)i, 1));
	}
	for (i = 0; i < 5000; i++) {
		memset(&k, 0, sizeof(k));
		k.a = (uint32_t)i;
		k.b = 0x0A000002;
		k.c = (uint16_t)(40000 + i % 7);
		k.d = 5064;
		if (i % 2)
			assert_ptr_equal(hmap_get(&m, &k), val_of((uint32_t)i, 1));
		else
			assert_null(hmap_get(&m, &k));
		/* A different port is a different key. */
		k.d = 5065;
		assert_null(hmap_get(&m, &k));
	}
	hmap_free(&m);
}

/* hmap_forget_if: every value picked goes, whatever the batch size, and
 * no other. */
struct forget_ctx {
	struct hmap *m;
	unsigned forgotten;
};

static bool is_odd(const void *v, void *ctx)
{
	(void)ctx;
	return (*(const uint32_t *)v) & 1;
}

static void forget_one(void *v, void *ctx)
{
	struct forget_ctx *f = ctx;

	assert_ptr_equal(hmap_del(f->m, v), v);   /* the key is the value */
	free(v);
	f->forgotten++;
}

static void test_forget_if(void **state)
{
	struct hmap m;
	struct forget_ctx f = { &m, 0 };
	uint32_t i, *v;

	(void)state;
	hmap_init(&m, sizeof(uint32_t));
	for (i = 0; i < 1000; i++) {
		v = malloc(sizeof(*v));
		assert_non_null(v);
		*v = i;
		assert_true(hmap_put(&m, v, v, NULL));
	}
	assert_int_equal(hmap_forget_if(&m, is_odd, forget_one, &f), 500);
	assert_int_equal(f.forgotten, 500);
	assert_int_equal(hmap_count(&m), 500);
	for (i = 0; i < 1000; i++)
		assert_true((hmap_get(&m, &i) != NULL) == !(i & 1));
	assert_int_equal(hmap_forget_if(&m, is_odd, forget_one, &f), 0);
	for (i = 0; i < 1000; i += 2)
		free(hmap_del(&m, &i));
	hmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_insert_delete_random),
		cmocka_unit_test(test_churn_small),
		cmocka_unit_test(test_wide_keys),
		cmocka_unit_test(test_forget_if),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
