/*
 * AES-256-GCM for the room's frame encryption worker, compiled to WebAssembly.
 * The cipher is BearSSL's constant-time code (aes_ct64 in CTR mode, ghash_ctmul64, gcm); this file
 * only keeps a few keyed contexts and exposes sealing and opening in place, in linear memory.
 */
#include "inner.h"

#define SLOTS 8
#define BUFFER_BYTES (1 << 20)

static br_aes_ct64_ctr_keys cipher[SLOTS];
static br_gcm_context gcm[SLOTS];
static unsigned char keyed[SLOTS];
static unsigned char buffer[BUFFER_BYTES];

void *memcpy(void *dst, const void *src, size_t n) { return __builtin_memcpy(dst, src, n); }
void *memmove(void *dst, const void *src, size_t n) { return __builtin_memmove(dst, src, n); }
void *memset(void *dst, int c, size_t n) { return __builtin_memset(dst, c, n); }
int memcmp(const void *a, const void *b, size_t n) {
	const unsigned char *x = a, *y = b;
	for (size_t i = 0; i < n; i++) if (x[i] != y[i]) return x[i] - y[i];
	return 0;
}

__attribute__((export_name("buffer"))) unsigned char *buffer_address(void) { return buffer; }
__attribute__((export_name("buffer_bytes"))) int buffer_size(void) { return BUFFER_BYTES; }

/* The 32-byte key is read at `key` (in the buffer) and wiped from there. */
__attribute__((export_name("key_set"))) int key_set(int slot, unsigned char *key) {
	if (slot < 0 || slot >= SLOTS) return 0;
	br_aes_ct64_ctr_init(&cipher[slot], key, 32);
	br_gcm_init(&gcm[slot], &cipher[slot].vtable, &br_ghash_ctmul64);
	br_ccopy(1, key, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 32);
	keyed[slot] = 1;
	return 1;
}

__attribute__((export_name("key_clear"))) void key_clear(int slot) {
	if (slot < 0 || slot >= SLOTS) return;
	memset(&cipher[slot], 0, sizeof cipher[slot]);
	memset(&gcm[slot], 0, sizeof gcm[slot]);
	keyed[slot] = 0;
}

/* data[0, aad) is authenticated, data[aad, len) encrypted in place; the 16-byte tag goes to data + len. */
__attribute__((export_name("seal"))) int seal(int slot, unsigned char *data, int aad, int len, const unsigned char *iv) {
	if (slot < 0 || slot >= SLOTS || !keyed[slot] || aad < 0 || len < aad) return 0;
	br_gcm_context *g = &gcm[slot];
	br_gcm_reset(g, iv, 12);
	br_gcm_aad_inject(g, data, (size_t)aad);
	br_gcm_flip(g);
	br_gcm_run(g, 1, data + aad, (size_t)(len - aad));
	br_gcm_get_tag(g, data + len);
	return 1;
}

/* data[aad, len) is decrypted in place when the tag at `tag` verifies; otherwise it is wiped and 0 returned. */
__attribute__((export_name("open"))) int open(int slot, unsigned char *data, int aad, int len, const unsigned char *iv, const unsigned char *tag) {
	if (slot < 0 || slot >= SLOTS || !keyed[slot] || aad < 0 || len < aad) return 0;
	br_gcm_context *g = &gcm[slot];
	br_gcm_reset(g, iv, 12);
	br_gcm_aad_inject(g, data, (size_t)aad);
	br_gcm_flip(g);
	br_gcm_run(g, 0, data + aad, (size_t)(len - aad));
	if (br_gcm_check_tag(g, tag)) return 1;
	memset(data + aad, 0, (size_t)(len - aad));
	return 0;
}
