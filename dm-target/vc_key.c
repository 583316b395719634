// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dm-volcrypt keys: kernel keyring references and the AES-256-XTS
 * transform each one is loaded into.
 *
 * A key is never given to the target in a table.  The table names a
 * "logon" key (a type whose payload user space cannot read back) by a
 * reference of the form
 *
 *     :64:logon:<description>
 *
 * which is dm-crypt's syntax for keyring keys.  The constructor looks the
 * key up with request_key() in the keyrings of the process loading the
 * table, copies the 64 payload bytes into a scratch buffer only long
 * enough to set the transform's key, and wipes the buffer.  After that
 * the key exists only in the transform's context, which the crypto API
 * frees with kfree_sensitive().
 */
#include <linux/ctype.h>
#include <linux/err.h>
#include <linux/key.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <keys/user-type.h>

#include "volcrypt.h"

#define VC_KEY_TYPE "logon"

/*
 * The crypto API name to allocate: "xts(aes)" takes the best
 * implementation; a driver name pins one (for a misbehaving engine, or
 * "cryptd(xts(aes))" to run every request asynchronously in tests).
 * Whatever it is must implement xts(aes): the data layout is fixed.
 */
static char *vc_xts_driver = VC_CIPHER;
module_param_named(xts_driver, vc_xts_driver, charp, 0444);
MODULE_PARM_DESC(xts_driver,
		 "crypto API name of the xts(aes) implementation (default xts(aes): the best one)");

/*
 * Checks the syntax of a key reference; sets *error and returns -EINVAL
 * on the first thing wrong with it.  Nothing is looked up.
 */
int vc_key_parse_ref(const char *ref, char **error)
{
	const char *p, *type, *desc, *colon;
	unsigned int size = 0;

	if (ref[0] != ':') {
		*error = "Key must be a keyring reference :64:logon:<description>; hex keys are refused";
		return -EINVAL;
	}
	p = ref + 1;
	if (!isdigit(*p)) {
		*error = "Key reference: size missing (want :64:logon:<description>)";
		return -EINVAL;
	}
	for (; isdigit(*p); p++) {
		size = size * 10 + (*p - '0');
		if (size > 1024)
			break;
	}
	if (*p != ':') {
		*error = "Key reference: bad size field (want :64:logon:<description>)";
		return -EINVAL;
	}
	if (size != VC_KEY_BYTES) {
		*error = "Key reference: key size must be 64 bytes (AES-256-XTS)";
		return -EINVAL;
	}
	type = p + 1;
	colon = strchr(type, ':');
	if (!colon || colon - type != strlen(VC_KEY_TYPE) ||
	    strncmp(type, VC_KEY_TYPE, strlen(VC_KEY_TYPE))) {
		*error = "Key reference: key type must be logon";
		return -EINVAL;
	}
	desc = colon + 1;
	if (!*desc) {
		*error = "Key reference: empty key description";
		return -EINVAL;
	}
	for (p = desc; *p; p++) {
		if (isspace(*p) || !isprint(*p)) {
			*error = "Key reference: key description contains whitespace or control characters";
			return -EINVAL;
		}
	}
	/* The logon type itself only accepts "<service>:<name>" descriptions. */
	colon = strchr(desc, ':');
	if (!colon || colon == desc) {
		*error = "Key reference: logon key description must be <service>:<name>";
		return -EINVAL;
	}
	return 0;
}

/*
 * Copies the payload of the logon key @desc into @buf (VC_KEY_BYTES).
 * Runs in the context of the process loading the table: request_key()
 * searches its thread, process and session keyrings (and, lacking a
 * session keyring, the user session keyring, which links the user
 * keyring).  No upcall is made for a key that does not exist.
 */
static int vc_key_read_payload(const char *desc, u8 *buf, char **error)
{
	const struct user_key_payload *ukp;
	struct key *key;
	int r = 0;

	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key)) {
		r = PTR_ERR(key);
		switch (r) {
		case -ENOKEY:
			*error = "Keyring key not found (is the logon key in a keyring of the process loading the table?)";
			break;
		case -EKEYREVOKED:
		case -EKEYEXPIRED:
			*error = "Keyring key is revoked or expired";
			break;
		case -EACCES:
			*error = "Keyring key: permission denied";
			break;
		default:
			*error = "Keyring key lookup failed";
			break;
		}
		return r;
	}

	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp) {
		*error = "Keyring key is revoked or expired";
		r = -EKEYREVOKED;
	} else if (ukp->datalen != VC_KEY_BYTES) {
		*error = "Keyring key payload is not 64 bytes";
		r = -EINVAL;
	} else {
		memcpy(buf, ukp->data, VC_KEY_BYTES);
	}
	up_read(&key->sem);
	key_put(key);
	return r;
}

/*
 * Loads the key named by @ref into a new xts(aes) transform.  On error
 * *error says why and @key holds nothing that vc_key_free() cannot undo.
 */
int vc_key_load(struct vc_key *key, const char *ref, char **error)
{
	const char *desc;
	u8 *buf;
	int r;

	r = vc_key_parse_ref(ref, error);
	if (r)
		return r;
	/* What follows ":64:logon:", as the parser checked. */
	desc = strchr(strchr(ref + 1, ':') + 1, ':') + 1;

	key->ref = kstrdup(ref, GFP_KERNEL);
	if (!key->ref) {
		*error = "Cannot allocate key reference";
		return -ENOMEM;
	}

	/*
	 * Whatever implementation the crypto API ranks highest: on x86 the
	 * AES-NI one, which is flagged asynchronous (it defers to cryptd when
	 * the FPU is not usable) but completes synchronously in our workers.
	 */
	key->tfm = crypto_alloc_skcipher(vc_xts_driver, 0, 0);
	if (IS_ERR(key->tfm)) {
		r = PTR_ERR(key->tfm);
		key->tfm = NULL;
		*error = "Cannot allocate the xts(aes) transform (is the xts module available?)";
		return r;
	}
	if (strcmp(crypto_tfm_alg_name(crypto_skcipher_tfm(key->tfm)), VC_CIPHER)) {
		*error = "Module parameter xts_driver does not name an xts(aes) implementation";
		return -EINVAL;
	}

	buf = kmalloc(VC_KEY_BYTES, GFP_KERNEL);
	if (!buf) {
		*error = "Cannot allocate key buffer";
		return -ENOMEM;
	}
	r = vc_key_read_payload(desc, buf, error);
	if (!r) {
		r = crypto_skcipher_setkey(key->tfm, buf, VC_KEY_BYTES);
		if (r)
			*error = "The transform refused the key (both XTS halves equal?)";
	}
	kfree_sensitive(buf);
	if (r)
		return r;

	DMDEBUG("key %s: %s", key->ref, vc_key_driver(key));
	return 0;
}

/* Frees the transform (its memory, key schedule included, is wiped). */
void vc_key_free(struct vc_key *key)
{
	if (key->tfm)
		crypto_free_skcipher(key->tfm);
	key->tfm = NULL;
	kfree_sensitive(key->ref);
	key->ref = NULL;
}

/* The implementation in use, e.g. "xts-aes-aesni": an admin's first question. */
const char *vc_key_driver(const struct vc_key *key)
{
	return key->tfm ? crypto_skcipher_driver_name(key->tfm) : "-";
}
