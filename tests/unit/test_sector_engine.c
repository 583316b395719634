/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Tests of the AES-256-XTS sector engine: IEEE P1619 known answers, and
 * agreement with an independent implementation (OpenSSL EVP aes-256-xts,
 * driven unit by unit with the plain64 IV dm-crypt uses) across sector
 * sizes, thread counts, IV ranges and concurrent callers.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sector_engine.h"
#include "unit.h"

#define KEY_BYTES 64
#define KIB 1024u
#define MIB (1024u * 1024u)

/* ------------------------------------------------------------- helpers */

static void hex_decode(const char *hex, uint8_t *out, size_t n)
{
	size_t len = strlen(hex);

	ck_assert_uint_eq(len, 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		ck_assert_int_eq(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

/* Deterministic test data (xorshift64*), so a failure can be reproduced. */
static void fill_pseudo(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x >> 12;
		x ^= x << 25;
		x ^= x >> 27;
		b[i] = (uint8_t)((x * 0x2545f4914f6cdd1dULL) >> 56);
	}
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

static void test_key(uint8_t key[KEY_BYTES], uint64_t seed)
{
	fill_pseudo(key, KEY_BYTES, seed);
	/* OpenSSL refuses identical XTS key halves. */
	ck_assert(memcmp(key, key + 32, 32) != 0);
}

/*
 * Reference: OpenSSL, one XTS data unit of @ss bytes at a time with the
 * IV = 16-byte little-endian 512-byte index of the unit's first byte.
 */
static void ref_xts(const uint8_t *key, uint32_t ss, uint64_t iv_sector,
		    const uint8_t *in, uint8_t *out, size_t len, int enc)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

	ck_assert_ptr_nonnull(ctx);
	ck_assert_int_eq(EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key, NULL, enc), 1);
	for (size_t off = 0; off < len; off += ss, iv_sector += ss / 512) {
		uint8_t iv[16] = { 0 };
		int outl = 0;

		for (int i = 0; i < 8; i++)
			iv[i] = (uint8_t)(iv_sector >> (8 * i));
		ck_assert_int_eq(EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, enc), 1);
		ck_assert_int_eq(EVP_CipherUpdate(ctx, out + off, &outl, in + off, (int)ss), 1);
		ck_assert_int_eq(outl, (int)ss);
	}
	EVP_CIPHER_CTX_free(ctx);
}

static struct vol_engine *new_engine(const uint8_t *key, uint32_t ss, unsigned threads)
{
	struct vol_engine *eng = NULL;

	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, ss, threads, &eng), 0);
	ck_assert_ptr_nonnull(eng);
	return eng;
}

/*
 * Encrypt @units sectors at @iv_sector with the engine and with OpenSSL,
 * compare, then decrypt the reference ciphertext with the engine.
 */
static void check_against_openssl(struct vol_engine *eng, const uint8_t *key,
				  uint32_t ss, uint64_t iv_sector, size_t units, uint64_t seed)
{
	size_t len = units * ss;
	uint8_t *pt = xmalloc(len), *ours = xmalloc(len), *ref = xmalloc(len);

	fill_pseudo(pt, len, seed);
	memcpy(ours, pt, len);
	ck_assert_int_eq(vol_engine_encrypt(eng, iv_sector, ours, len), 0);
	ref_xts(key, ss, iv_sector, pt, ref, len, 1);
	ck_assert_msg(memcmp(ours, ref, len) == 0,
		      "encrypt differs: sector %u, iv_sector %llu, %zu units", ss,
		      (unsigned long long)iv_sector, units);
	ck_assert_int_eq(vol_engine_decrypt(eng, iv_sector, ref, len), 0);
	ck_assert_msg(memcmp(ref, pt, len) == 0,
		      "decrypt differs: sector %u, iv_sector %llu, %zu units", ss,
		      (unsigned long long)iv_sector, units);
	free(pt);
	free(ours);
	free(ref);
}

/* ------------------------------------------ IEEE P1619 Annex B, 10..14 */

/*
 * XTS-AES-256, 512-byte data units, plaintext 00 01 .. ff twice.  Key1 and
 * Key2 are the first 32 digits of e and of pi after the decimal point
 * (twice as many as for the 128-bit vectors).
 */
static const char kat_key[] =
	"2718281828459045235360287471352662497757247093699959574966967627"
	"3141592653589793238462643383279502884197169399375105820974944592";

static const struct {
	int vector;
	uint64_t sequence;	/* data unit sequence number */
	const char *ct;
} kats[] = {
	{ 10, 0xffULL,
	  "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b"
	  "5d31e276f8fe4a8d66b317f9ac683f44680a86ac35adfc3345befecb4bb188fd"
	  "5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
	  "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca"
	  "2a3e7a7d7df7b10355165c8b9a6d0a7de8b062c4500dc4cd120c0f7418dae3d0"
	  "b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
	  "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec"
	  "583e9645e07b8d9670655ba5bbcfecc6dc3966380ad8fecb17b6ba02469a020a"
	  "84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
	  "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae"
	  "9be69a2ffeceb1bec9de244fbe15992b11b77c040f12bd8f6a975a44a0f90c29"
	  "a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
	  "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f"
	  "645e8b7e9bfdef33943054ff84011493c27b3429eaedb4ed5376441a77ed4385"
	  "1ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
	  "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151" },
	{ 11, 0xffffULL,
	  "77a31251618a15e6b92d1d66dffe7b50b50bad552305ba0217a610688eff7e11"
	  "e1d0225438e093242d6db274fde801d4cae06f2092c728b2478559df58e837c2"
	  "469ee4a4fa794e4bbc7f39bc026e3cb72c33b0888f25b4acf56a2a9804f1ce6d"
	  "3d6e1dc6ca181d4b546179d55544aa7760c40d06741539c7e3cd9d2f6650b201"
	  "3fd0eeb8c2b8e3d8d240ccae2d4c98320a7442e1c8d75a42d6e6cfa4c2eca179"
	  "8d158c7aecdf82490f24bb9b38e108bcda12c3faf9a21141c3613b58367f922a"
	  "aa26cd22f23d708dae699ad7cb40a8ad0b6e2784973dcb605684c08b8d6998c6"
	  "9aac049921871ebb65301a4619ca80ecb485a31d744223ce8ddc2394828d6a80"
	  "470c092f5ba413c3378fa6054255c6f9df4495862bbb3287681f931b687c888a"
	  "bf844dfc8fc28331e579928cd12bd2390ae123cf03818d14dedde5c0c24c8ab0"
	  "18bfca75ca096f2d531f3d1619e785f1ada437cab92e980558b3dce1474afb75"
	  "bfedbf8ff54cb2618e0244c9ac0d3c66fb51598cd2db11f9be39791abe447c63"
	  "094f7c453b7ff87cb5bb36b7c79efb0872d17058b83b15ab0866ad8a58656c5a"
	  "7e20dbdf308b2461d97c0ec0024a2715055249cf3b478ddd4740de654f75ca68"
	  "6e0d7345c69ed50cdc2a8b332b1f8824108ac937eb050585608ee734097fc090"
	  "54fbff89eeaeea791f4a7ab1f9868294a4f9e27b42af8100cb9d59cef9645803" },
	{ 12, 0xffffffULL,
	  "e387aaa58ba483afa7e8eb469778317ecf4cf573aa9d4eac23f2cdf914e4e200"
	  "a8b490e42ee646802dc6ee2b471b278195d60918ececb44bf79966f83faba049"
	  "9298ebc699c0c8634715a320bb4f075d622e74c8c932004f25b41e361025b5a8"
	  "7815391f6108fc4afa6a05d9303c6ba68a128a55705d415985832fdeaae6c8e1"
	  "9110e84d1b1f199a2692119edc96132658f09da7c623efcec712537a3d94c0bf"
	  "5d7e352ec94ae5797fdb377dc1551150721adf15bd26a8efc2fcaad56881fa9e"
	  "62462c28f30ae1ceaca93c345cf243b73f542e2074a705bd2643bb9f7cc79bb6"
	  "e7091ea6e232df0f9ad0d6cf502327876d82207abf2115cdacf6d5a48f6c1879"
	  "a65b115f0f8b3cb3c59d15dd8c769bc014795a1837f3901b5845eb491adfefe0"
	  "97b1fa30a12fc1f65ba22905031539971a10f2f36c321bb51331cdefb39e3964"
	  "c7ef079994f5b69b2edd83a71ef549971ee93f44eac3938fcdd61d01fa71799d"
	  "a3a8091c4c48aa9ed263ff0749df95d44fef6a0bb578ec69456aa5408ae32c7a"
	  "f08ad7ba8921287e3bbee31b767be06a0e705c864a769137df28292283ea81a2"
	  "480241b44d9921cdbec1bc28dc1fda114bd8e5217ac9d8ebafa720e9da4f9ace"
	  "231cc949e5b96fe76ffc21063fddc83a6b8679c00d35e09576a875305bed5f36"
	  "ed242c8900dd1fa965bc950dfce09b132263a1eef52dd6888c309f5a7d712826" },
	{ 13, 0xffffffffULL,
	  "bf53d2dade78e822a4d949a9bc6766b01b06a8ef70d26748c6a7fc36d80ae4c5"
	  "520f7c4ab0ac8544424fa405162fef5a6b7f229498063618d39f0003cb5fb8d1"
	  "c86b643497da1ff945c8d3bedeca4f479702a7a735f043ddb1d6aaade3c4a0ac"
	  "7ca7f3fa5279bef56f82cd7a2f38672e824814e10700300a055e1630b8f1cb0e"
	  "919f5e942010a416e2bf48cb46993d3cb6a51c19bacf864785a00bc2ecff15d3"
	  "50875b246ed53e68be6f55bd7e05cfc2b2ed6432198a6444b6d8c247fab941f5"
	  "69768b5c429366f1d3f00f0345b96123d56204c01c63b22ce78baf116e525ed9"
	  "0fdea39fa469494d3866c31e05f295ff21fea8d4e6e13d67e47ce722e9698a1c"
	  "1048d68ebcde76b86fcf976eab8aa9790268b7068e017a8b9b749409514f1053"
	  "027fd16c3786ea1bac5f15cb79711ee2abe82f5cf8b13ae73030ef5b9e4457e7"
	  "5d1304f988d62dd6fc4b94ed38ba831da4b7634971b6cd8ec325d9c61c00f1df"
	  "73627ed3745a5e8489f3a95c69639c32cd6e1d537a85f75cc844726e8a72fc00"
	  "77ad22000f1d5078f6b866318c668f1ad03d5a5fced5219f2eabbd0aa5c0f460"
	  "d183f04404a0d6f469558e81fab24a167905ab4c7878502ad3e38fdbe62a4155"
	  "6cec37325759533ce8f25f367c87bb5578d667ae93f9e2fd99bcbc5f2fbba88c"
	  "f6516139420fcff3b7361d86322c4bd84c82f335abb152c4a93411373aaa8220" },
	{ 14, 0xffffffffffULL,
	  "64497e5a831e4a932c09be3e5393376daa599548b816031d224bbf50a818ed23"
	  "50eae7e96087c8a0db51ad290bd00c1ac1620857635bf246c176ab463be30b80"
	  "8da548081ac847b158e1264be25bb0910bbc92647108089415d45fab1b3d2604"
	  "e8a8eff1ae4020cfa39936b66827b23f371b92200be90251e6d73c5f86de5fd4"
	  "a950781933d79a28272b782a2ec313efdfcc0628f43d744c2dc2ff3dcb66999b"
	  "50c7ca895b0c64791eeaa5f29499fb1c026f84ce5b5c72ba1083cddb5ce45434"
	  "631665c333b60b11593fb253c5179a2c8db813782a004856a1653011e93fb6d8"
	  "76c18366dd8683f53412c0c180f9c848592d593f8609ca736317d356e13e2bff"
	  "3a9f59cd9aeb19cd482593d8c46128bb32423b37a9adfb482b99453fbe25a41b"
	  "f6feb4aa0bef5ed24bf73c762978025482c13115e4015aac992e5613a3b5c2f6"
	  "85b84795cb6e9b2656d8c88157e52c42f978d8634c43d06fea928f2822e465aa"
	  "6576e9bf419384506cc3ce3c54ac1a6f67dc66f3b30191e698380bc999b05abc"
	  "e19dc0c6dcc2dd001ec535ba18deb2df1a101023108318c75dc98611a09dc48a"
	  "0acdec676fabdf222f07e026f059b672b56e5cbc8e1d21bbd867dd9272120546"
	  "81d70ea737134cdfce93b6f82ae22423274e58a0821cc5502e2d0ab4585e94de"
	  "6975be5e0b4efce51cd3e70c25a1fbbbd609d273ad5b0d59631c531f6a0a57b9" },
};

#define NKATS (sizeof(kats) / sizeof(kats[0]))

static void kat_plaintext(uint8_t pt[512])
{
	for (int i = 0; i < 512; i++)
		pt[i] = (uint8_t)i;
}

/* The engine reproduces every published vector, encrypting and decrypting. */
START_TEST(test_kat_ieee1619)
{
	static const unsigned threads[] = { 1, 2 };
	uint8_t key[KEY_BYTES], pt[512], ct[512], buf[512];

	hex_decode(kat_key, key, sizeof(key));
	kat_plaintext(pt);
	for (size_t t = 0; t < 2; t++) {
		struct vol_engine *eng = new_engine(key, 512, threads[t]);

		for (size_t i = 0; i < NKATS; i++) {
			hex_decode(kats[i].ct, ct, sizeof(ct));
			memcpy(buf, pt, sizeof(buf));
			ck_assert_int_eq(vol_engine_encrypt(eng, kats[i].sequence, buf, 512), 0);
			ck_assert_msg(memcmp(buf, ct, 512) == 0, "vector %d: ciphertext differs",
				      kats[i].vector);
			ck_assert_int_eq(vol_engine_decrypt(eng, kats[i].sequence, buf, 512), 0);
			ck_assert_msg(memcmp(buf, pt, 512) == 0, "vector %d: plaintext differs",
				      kats[i].vector);
		}
		vol_engine_free(eng);
	}
}
END_TEST

/* The OpenSSL reference is validated against the same vectors. */
START_TEST(test_reference_kat)
{
	uint8_t key[KEY_BYTES], pt[512], ct[512], out[512];

	hex_decode(kat_key, key, sizeof(key));
	kat_plaintext(pt);
	for (size_t i = 0; i < NKATS; i++) {
		hex_decode(kats[i].ct, ct, sizeof(ct));
		ref_xts(key, 512, kats[i].sequence, pt, out, 512, 1);
		ck_assert_msg(memcmp(out, ct, 512) == 0, "vector %d: OpenSSL differs",
			      kats[i].vector);
	}
}
END_TEST

/* The engine created from a struct vol_key equals the raw-key engine. */
START_TEST(test_engine_from_vol_key)
{
	uint8_t raw[KEY_BYTES], pt[512], ct[512];
	struct vol_key *key = vol_key_alloc(KEY_BYTES);
	struct vol_engine *eng = NULL;

	ck_assert_ptr_nonnull(key);
	hex_decode(kat_key, raw, sizeof(raw));
	memcpy(key->bytes, raw, KEY_BYTES);
	ck_assert_int_eq(vol_engine_new(key, 512, 1, &eng), 0);
	vol_key_free(key);	/* the engine keeps its own copy */
	kat_plaintext(pt);
	hex_decode(kats[0].ct, ct, sizeof(ct));
	ck_assert_int_eq(vol_engine_encrypt(eng, kats[0].sequence, pt, 512), 0);
	ck_assert(memcmp(pt, ct, 512) == 0);
	vol_engine_free(eng);
}
END_TEST

/* -------------------------------------------------- OpenSSL agreement */

static const unsigned thread_counts[] = { 1, 2, 3, 8 };

/*
 * Unit counts: single units, runs too small to split, and runs that are
 * split into chunks whose sizes differ (not multiples of the thread count).
 */
static const size_t units_4096[] = { 1, 7, 33, 211, 1031 };
static const size_t units_512[] = { 1, 3, 129, 263, 1537, 8209 };

static void openssl_matrix(uint32_t ss, unsigned threads, const size_t *units, size_t nunits)
{
	const uint64_t per = ss / 512;
	uint8_t key[KEY_BYTES];
	struct vol_engine *eng;

	test_key(key, 1000 + threads + ss);
	eng = new_engine(key, ss, threads);
	for (size_t i = 0; i < nunits; i++) {
		uint64_t n = units[i];
		const uint64_t starts[] = {
			0,
			per * 12345,
			(UINT64_C(1) << 32) - per,		/* first unit below 2^32 */
			(UINT64_C(1) << 32) - per * ((n + 1) / 2), /* run crossing 2^32 */
			(UINT64_C(1) << 32),
			UINT64_MAX / 2 + 1 - per * (n / 3),	/* crossing 2^63 */
			0 - per * n,				/* last unit ends at 2^64 - 1 */
			0 - per * (n + 64),			/* 64 units below the end */
		};

		for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++)
			check_against_openssl(eng, key, ss, starts[s], n, i * 31 + s);
	}
	vol_engine_free(eng);
}

START_TEST(test_openssl_4096)
{
	openssl_matrix(4096, thread_counts[_i], units_4096,
		       sizeof(units_4096) / sizeof(units_4096[0]));
}
END_TEST

START_TEST(test_openssl_512)
{
	openssl_matrix(512, thread_counts[_i], units_512,
		       sizeof(units_512) / sizeof(units_512[0]));
}
END_TEST

/* threads = 0 means one per online CPU; the result must not change. */
START_TEST(test_default_threads)
{
	uint8_t key[KEY_BYTES];
	struct vol_engine *eng;

	test_key(key, 77);
	eng = new_engine(key, 4096, 0);
	check_against_openssl(eng, key, 4096, 8 * 1000, 2048 + 3, 5);
	vol_engine_free(eng);
}
END_TEST

/*
 * decrypt(encrypt(x)) == x for runs of every split shape; the ciphertext
 * must differ from the plaintext, and equal plaintext sectors at
 * different positions must encrypt differently (the IV is per unit).
 */
START_TEST(test_roundtrip)
{
	static const uint32_t sizes[] = { 512, 4096 };
	uint8_t key[KEY_BYTES];

	test_key(key, 4242);
	for (size_t z = 0; z < 2; z++) {
		uint32_t ss = sizes[z];
		struct vol_engine *eng = new_engine(key, ss, thread_counts[_i]);

		for (size_t units = 1; units * ss <= 2 * MIB; units = units * 3 + 1) {
			size_t len = units * ss;
			uint8_t *pt = xmalloc(len), *buf = xmalloc(len);
			uint64_t iv = (ss / 512) * (units * 977);

			memset(pt, 0x5a, len);
			memcpy(buf, pt, len);
			ck_assert_int_eq(vol_engine_encrypt(eng, iv, buf, len), 0);
			ck_assert(memcmp(buf, pt, ss) != 0);
			if (units > 1)
				ck_assert(memcmp(buf, buf + len - ss, ss) != 0);
			ck_assert_int_eq(vol_engine_decrypt(eng, iv, buf, len), 0);
			ck_assert(memcmp(buf, pt, len) == 0);
			free(pt);
			free(buf);
		}
		vol_engine_free(eng);
	}
}
END_TEST

/* Encrypting a run in pieces equals encrypting it in one call. */
START_TEST(test_split_equals_pieces)
{
	const size_t len = 3 * MIB + 5 * 4096;
	uint8_t key[KEY_BYTES];
	uint8_t *whole = xmalloc(len), *pieces = xmalloc(len);
	struct vol_engine *many, *one;

	test_key(key, 99);
	many = new_engine(key, 4096, 8);
	one = new_engine(key, 4096, 1);
	fill_pseudo(whole, len, 3);
	memcpy(pieces, whole, len);
	ck_assert_int_eq(vol_engine_encrypt(many, 8 * 5, whole, len), 0);
	for (size_t off = 0; off < len; off += 4096)
		ck_assert_int_eq(vol_engine_encrypt(one, 8 * 5 + off / 512, pieces + off, 4096), 0);
	ck_assert(memcmp(whole, pieces, len) == 0);
	free(whole);
	free(pieces);
	vol_engine_free(many);
	vol_engine_free(one);
}
END_TEST

/* ------------------------------------------------- concurrent callers */

#define CALLERS 4
#define CALLER_ROUNDS 12

struct caller {
	struct vol_engine *eng;
	const uint8_t *key;
	uint64_t iv_sector;
	size_t len;
	uint8_t *pt, *ref;
	int failures;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	uint8_t *buf = malloc(c->len);

	if (!buf) {
		c->failures++;
		return NULL;
	}
	for (int round = 0; round < CALLER_ROUNDS; round++) {
		/* Alternate split runs with single-sector calls. */
		size_t step = round % 3 == 2 ? 4096 : c->len;

		memcpy(buf, c->pt, c->len);
		for (size_t off = 0; off < c->len; off += step)
			if (vol_engine_encrypt(c->eng, c->iv_sector + off / 512, buf + off, step))
				c->failures++;
		if (memcmp(buf, c->ref, c->len))
			c->failures++;
		if (vol_engine_decrypt(c->eng, c->iv_sector, buf, c->len))
			c->failures++;
		if (memcmp(buf, c->pt, c->len))
			c->failures++;
	}
	free(buf);
	return NULL;
}

/*
 * Four threads share one engine, each on its own region; everything must
 * still equal OpenSSL.  The caller's key buffer is wiped before the calls:
 * handles created for extra callers must come from the engine's own copy.
 */
/*
 * A run handed to the workers (submit/wait) gives the same bytes as the
 * synchronous call, in place or read from another buffer.
 */
START_TEST(test_submit_matches_sync)
{
	const size_t len = 3u << 20;
	uint8_t key[64], *a = malloc(len), *b = malloc(len), *src = malloc(len);
	struct vol_engine *eng = NULL;
	struct vol_engine_job *job = NULL;

	ck_assert(a && b && src);
	fill_pseudo(key, sizeof(key), 7);
	fill_pseudo(src, len, 8);
	ck_assert_int_eq(vol_engine_new_raw(key, sizeof(key), 512, 2, &eng), 0);
	for (int encrypt = 0; encrypt < 2; encrypt++) {
		memcpy(a, src, len);
		ck_assert_int_eq(encrypt ? vol_engine_encrypt(eng, 2048, a, len)
					 : vol_engine_decrypt(eng, 2048, a, len), 0);
		memcpy(b, src, len);
		ck_assert_int_eq(vol_engine_submit(eng, encrypt, 2048, b, len, &job), 0);
		ck_assert_int_eq(vol_engine_wait(job), 0);
		ck_assert_mem_eq(a, b, len);
		memset(b, 0, len);
		ck_assert_int_eq(vol_engine_submit_from(eng, encrypt, 2048, b, src, len, &job), 0);
		ck_assert_int_eq(vol_engine_wait(job), 0);
		ck_assert_mem_eq(a, b, len);
	}
	ck_assert_int_eq(vol_engine_submit(eng, 1, 0, b, 100, &job), -EINVAL); /* not whole units */
	vol_engine_free(eng);
	free(a);
	free(b);
	free(src);
}
END_TEST

START_TEST(test_concurrent_callers)
{
	uint8_t key[KEY_BYTES], key_copy[KEY_BYTES];
	struct caller c[CALLERS];
	pthread_t tid[CALLERS];
	struct vol_engine *eng;

	test_key(key, 555);
	memcpy(key_copy, key, KEY_BYTES);
	eng = new_engine(key_copy, 4096, thread_counts[_i]);
	memset(key_copy, 0, sizeof(key_copy));
	for (int i = 0; i < CALLERS; i++) {
		c[i] = (struct caller){
			.eng = eng,
			.key = key,
			.iv_sector = ((uint64_t)i << 33) + 8 * (uint64_t)(i * 101),
			.len = (size_t)(200 + 37 * i) * 4096,
		};
		c[i].pt = xmalloc(c[i].len);
		c[i].ref = xmalloc(c[i].len);
		fill_pseudo(c[i].pt, c[i].len, 900 + i);
		ref_xts(key, 4096, c[i].iv_sector, c[i].pt, c[i].ref, c[i].len, 1);
	}
	for (int i = 0; i < CALLERS; i++)
		ck_assert_int_eq(pthread_create(&tid[i], NULL, caller_main, &c[i]), 0);
	for (int i = 0; i < CALLERS; i++)
		ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
	for (int i = 0; i < CALLERS; i++) {
		ck_assert_msg(c[i].failures == 0, "caller %d: %d failures", i, c[i].failures);
		free(c[i].pt);
		free(c[i].ref);
	}
	vol_engine_free(eng);
}
END_TEST

/* ----------------------------------------------------- invalid input */

START_TEST(test_invalid_new)
{
	uint8_t key[KEY_BYTES];
	/* Any non-NULL value: a failed call must reset *out to NULL. */
	struct vol_engine *eng = (struct vol_engine *)&eng;
	struct vol_key *vk;

	test_key(key, 1);
	ck_assert_int_eq(vol_engine_new_raw(NULL, KEY_BYTES, 512, 1, &eng), -EINVAL);
	ck_assert_ptr_null(eng);
	ck_assert_int_eq(vol_engine_new_raw(key, 32, 512, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, 0, 512, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, 65, 512, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 0, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 1024, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 513, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 8192, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 4096, 1000000, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new_raw(key, KEY_BYTES, 4096, 1, NULL), -EINVAL);
	ck_assert_ptr_null(eng);

	ck_assert_int_eq(vol_engine_new(NULL, 512, 1, &eng), -EINVAL);
	vk = vol_key_alloc(32);
	ck_assert_ptr_nonnull(vk);
	ck_assert_int_eq(vol_engine_new(vk, 512, 1, &eng), -EINVAL);
	vol_key_free(vk);
	vk = vol_key_alloc(KEY_BYTES);
	ck_assert_ptr_nonnull(vk);
	memcpy(vk->bytes, key, KEY_BYTES);
	ck_assert_int_eq(vol_engine_new(vk, 2048, 1, &eng), -EINVAL);
	ck_assert_int_eq(vol_engine_new(vk, 4096, 1, NULL), -EINVAL);
	vol_key_free(vk);
	ck_assert_ptr_null(eng);

	vol_engine_free(NULL);
}
END_TEST

/* A rejected call must leave the buffer untouched. */
static void expect_einval(struct vol_engine *eng, uint64_t iv, uint8_t *buf, size_t len)
{
	uint8_t *before = xmalloc(len);

	memcpy(before, buf, len);
	ck_assert_int_eq(vol_engine_encrypt(eng, iv, buf, len), -EINVAL);
	ck_assert_int_eq(vol_engine_decrypt(eng, iv, buf, len), -EINVAL);
	ck_assert(memcmp(before, buf, len) == 0);
	free(before);
}

START_TEST(test_invalid_runs)
{
	uint8_t key[KEY_BYTES];
	uint8_t *buf = xmalloc(4 * 4096);
	struct vol_engine *e4k, *e512;

	test_key(key, 2);
	fill_pseudo(buf, 4 * 4096, 2);
	e4k = new_engine(key, 4096, 2);
	e512 = new_engine(key, 512, 2);

	ck_assert_int_eq(vol_engine_encrypt(NULL, 0, buf, 4096), -EINVAL);
	ck_assert_int_eq(vol_engine_decrypt(NULL, 0, buf, 4096), -EINVAL);
	ck_assert_int_eq(vol_engine_encrypt(e4k, 0, NULL, 4096), -EINVAL);
	ck_assert_int_eq(vol_engine_decrypt(e512, 0, NULL, 512), -EINVAL);

	/* iv_sector not a multiple of sector_size / 512 */
	for (uint64_t iv = 1; iv < 8; iv++)
		expect_einval(e4k, iv, buf, 4096);
	expect_einval(e4k, 8 * 1000 + 4, buf, 4096);
	expect_einval(e4k, UINT64_MAX, buf, 4096);

	/* len not a multiple of sector_size */
	expect_einval(e4k, 0, buf, 512);
	expect_einval(e4k, 0, buf, 4096 + 512);
	expect_einval(e4k, 0, buf, 4095);
	expect_einval(e512, 0, buf, 100);
	expect_einval(e512, 0, buf, 513);
	expect_einval(e512, 0, buf, 4096 + 16);

	/* the 512-byte index of the last byte would wrap past 2^64 - 1 */
	expect_einval(e512, UINT64_MAX, buf, 1024);
	expect_einval(e512, UINT64_MAX - 2, buf, 4 * 512);
	expect_einval(e4k, UINT64_MAX - 7, buf, 2 * 4096);
	expect_einval(e4k, UINT64_MAX - 15, buf, 3 * 4096);
	expect_einval(e4k, 0 - (uint64_t)8, buf, 4 * 4096);

	/* ... while the very last units are fine */
	ck_assert_int_eq(vol_engine_encrypt(e512, UINT64_MAX, buf, 512), 0);
	ck_assert_int_eq(vol_engine_decrypt(e512, UINT64_MAX, buf, 512), 0);
	ck_assert_int_eq(vol_engine_encrypt(e4k, UINT64_MAX - 15, buf, 2 * 4096), 0);
	ck_assert_int_eq(vol_engine_decrypt(e4k, UINT64_MAX - 15, buf, 2 * 4096), 0);

	/* an empty run is a no-op */
	ck_assert_int_eq(vol_engine_encrypt(e4k, 8, buf, 0), 0);

	vol_engine_free(e4k);
	vol_engine_free(e512);
	free(buf);
}
END_TEST

/* --------------------------------------------------------- benchmark */

START_TEST(test_benchmark_cipher)
{
	double enc = -1, dec = -1;

	ck_assert_int_eq(vol_benchmark_cipher(4096, 1, 4 * MIB, &enc, &dec), 0);
	ck_assert(enc > 0 && dec > 0);
	enc = dec = -1;
	ck_assert_int_eq(vol_benchmark_cipher(512, 0, 1 * MIB + 512, &enc, &dec), 0);
	ck_assert(enc > 0 && dec > 0);
	enc = dec = -1;
	/* Smaller than the 4 MiB work buffer, and not a whole number of sectors. */
	ck_assert_int_eq(vol_benchmark_cipher(4096, 2, 64 * KIB + 100, &enc, &dec), 0);
	ck_assert(enc > 0 && dec > 0);

	ck_assert_int_eq(vol_benchmark_cipher(1024, 1, MIB, &enc, &dec), -EINVAL);
	ck_assert_int_eq(vol_benchmark_cipher(4096, 1, 0, &enc, &dec), -EINVAL);
	ck_assert_int_eq(vol_benchmark_cipher(4096, 1, 100, &enc, &dec), -EINVAL);
	ck_assert_int_eq(vol_benchmark_cipher(4096, 1, MIB, NULL, &dec), -EINVAL);
	ck_assert_int_eq(vol_benchmark_cipher(4096, 1, MIB, &enc, NULL), -EINVAL);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("sector_engine");
	TCase *tc = tcase_create("kat");
	const int nthreads = (int)(sizeof(thread_counts) / sizeof(thread_counts[0]));

	tcase_add_test(tc, test_kat_ieee1619);
	tcase_add_test(tc, test_reference_kat);
	tcase_add_test(tc, test_engine_from_vol_key);
	suite_add_tcase(s, tc);

	tc = tcase_create("openssl");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_openssl_4096, 0, nthreads);
	tcase_add_loop_test(tc, test_openssl_512, 0, nthreads);
	tcase_add_test(tc, test_default_threads);
	tcase_add_loop_test(tc, test_roundtrip, 0, nthreads);
	tcase_add_test(tc, test_split_equals_pieces);
	tcase_add_test(tc, test_submit_matches_sync);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_set_timeout(tc, 120);
	tcase_add_loop_test(tc, test_concurrent_callers, 0, nthreads);
	suite_add_tcase(s, tc);

	tc = tcase_create("invalid");
	tcase_add_test(tc, test_invalid_new);
	tcase_add_test(tc, test_invalid_runs);
	suite_add_tcase(s, tc);

	tc = tcase_create("benchmark");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_benchmark_cipher);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(suite());
}
