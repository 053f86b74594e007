/*
 * engine/conf/rcfile.c - owned value trees and the configuration file (the
 * public aemp_rc_* functions), see engine/conf/rcfile.h.  The reader and the
 * pretty writer live in engine/conf/rcjson.c.
 *
 * Invariants of an aemp_rc: root is an owned MAP; root["profile"], when
 * present, is a MAP whose values are all MAPs (checked when the file is
 * read, kept by every mutation here).  dirty is set by every change and
 * cleared by a successful save.  Everything else in the file, including
 * keys aemp does not know (eval, Perl services, version), is kept as read.
 *
 * Threads: one thread at a time per aemp_rc; no shared state.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/codec.h"
#include "engine/conf/rcfile.h"
#include "ring/alloc.h"
#include "ring/base.h"

struct aemp_rc {
	char *path;
	aemp_val *root; /* owned MAP */
	int dirty;
};

/* Owned trees are built here, so their const element pointers may be
 * written through (see rcfile.h). */
static aemp_val *
elems(const aemp_val *v)
{
	return (aemp_val *)(uintptr_t)v->u.a;
}

/* ---- owned trees -------------------------------------------------------- */

void
eng_rcv_fini(aemp_val *v)
{
	size_t i, n;

	switch (v->type) {
	case AEMP_STR:
		ring_free((void *)(uintptr_t)v->u.s, 0);
		break;
	case AEMP_ARRAY:
	case AEMP_MAP:
	case AEMP_TAG:
		n = cod_nkids(v);
		for (i = 0; i < n; i++)
			eng_rcv_fini(&elems(v)[i]);
		ring_free(elems(v), 0);
		break;
	default:
		break;
	}
	*v = aemp_null();
}

void
eng_rcv_free(aemp_val *v)
{
	if (v == NULL)
		return;
	eng_rcv_fini(v);
	ring_free(v, sizeof(*v));
}

static int
dup_into(aemp_val *dst, const aemp_val *src, int depth)
{
	size_t i, n;
	aemp_val *a;
	char *s;

	*dst = *src;
	switch (src->type) {
	case AEMP_STR:
		if ((s = ring_alloc((size_t)src->len + 1)) == NULL)
			return -ENOMEM;
		if (src->len > 0)
			memcpy(s, src->u.s, src->len);
		s[src->len] = '\0';
		dst->u.s = s;
		return 0;
	case AEMP_ARRAY:
	case AEMP_MAP:
	case AEMP_TAG:
		if (depth >= AEMP_MAX_DEPTH)
			return AEMP_EDEPTH;
		n = cod_nkids(src);
		dst->u.a = NULL;
		if (n == 0)
			return 0;
		if ((a = ring_zalloc(n * sizeof(*a))) == NULL)
			return -ENOMEM;
		dst->u.a = a;
		for (i = 0; i < n; i++) {
			int rc = dup_into(&a[i], &src->u.a[i], depth + 1);

			if (rc < 0) {
				eng_rcv_fini(dst);
				return rc;
			}
		}
		return 0;
	default:
		return 0;
	}
}

aemp_val *
eng_rcv_dup(const aemp_val *v)
{
	aemp_val *box = ring_alloc(sizeof(*box));

	if (box == NULL)
		return NULL;
	if (dup_into(box, v, 0) < 0) {
		ring_free(box, sizeof(*box));
		return NULL;
	}
	return box;
}

int
eng_rcv_set_str(aemp_val *dst, const char *s, size_t n)
{
	aemp_val src = aemp_strn(s, n), copy;
	int rc;

	if ((rc = dup_into(&copy, &src, 0)) < 0)
		return rc;
	eng_rcv_fini(dst);
	*dst = copy;
	return 0;
}

aemp_val *
eng_rcv_new_map(void)
{
	aemp_val *m = ring_alloc(sizeof(*m));

	if (m != NULL)
		*m = aemp_map(NULL, 0);
	return m;
}

static long
map_find(const aemp_val *m, const char *key)
{
	size_t i, n = strlen(key);

	if (m == NULL || m->type != AEMP_MAP)
		return -1;
	for (i = 0; i < m->len; i++) {
		const aemp_val *k = &m->u.a[2 * i];

		if (k->type == AEMP_STR && k->len == n &&
		    (n == 0 || memcmp(k->u.s, key, n) == 0))
			return (long)i;
	}
	return -1;
}

const aemp_val *
eng_rcv_map_get(const aemp_val *m, const char *key)
{
	long i = map_find(m, key);

	return i < 0 ? NULL : &m->u.a[2 * i + 1];
}

/* Put the owned embedded value *v under key; *v moves into m on success
 * and is untouched on failure. */
static int
map_put(aemp_val *m, const char *key, aemp_val *v)
{
	long i = map_find(m, key);
	aemp_val *kv, k, ks = aemp_str(key);
	int rc;

	AEMP_ASSERT(m->type == AEMP_MAP);
	if (i >= 0) {
		eng_rcv_fini(&elems(m)[2 * i + 1]);
		elems(m)[2 * i + 1] = *v;
		return 0;
	}
	if ((rc = dup_into(&k, &ks, 0)) < 0)
		return rc;
	kv = ring_realloc(elems(m), (2 * (size_t)m->len + 2) * sizeof(*kv));
	if (kv == NULL) {
		eng_rcv_fini(&k);
		return -ENOMEM;
	}
	kv[2 * m->len] = k;
	kv[2 * m->len + 1] = *v;
	m->u.a = kv;
	m->len++;
	return 0;
}

int
eng_rcv_map_set(aemp_val *m, const char *key, const aemp_val *v)
{
	aemp_val copy;
	int rc;

	if ((rc = dup_into(&copy, v, 1)) < 0)
		return rc;
	if ((rc = map_put(m, key, &copy)) < 0)
		eng_rcv_fini(&copy);
	return rc;
}

int
eng_rcv_map_take(aemp_val *m, const char *key, aemp_val *v)
{
	int rc = map_put(m, key, v);

	if (rc < 0)
		eng_rcv_fini(v);
	ring_free(v, sizeof(*v));
	return rc;
}

int
eng_rcv_map_del(aemp_val *m, const char *key)
{
	long i = map_find(m, key);
	aemp_val *kv;

	if (i < 0)
		return 0;
	kv = elems(m);
	eng_rcv_fini(&kv[2 * i]);
	eng_rcv_fini(&kv[2 * i + 1]);
	memmove(&kv[2 * i], &kv[2 * i + 2],
	        (2 * ((size_t)m->len - (size_t)i) - 2) * sizeof(*kv));
	if (--m->len == 0) {
		ring_free(kv, 0);
		m->u.a = NULL;
	}
	return 1;
}

void
eng_rcv_array_del(aemp_val *a, size_t i)
{
	aemp_val *v = elems(a);

	AEMP_ASSERT(a->type == AEMP_ARRAY);
	AEMP_ASSERT(i < a->len);
	eng_rcv_fini(&v[i]);
	memmove(&v[i], &v[i + 1], ((size_t)a->len - i - 1) * sizeof(*v));
	if (--a->len == 0) {
		ring_free(v, 0);
		a->u.a = NULL;
	}
}

static uint64_t
key_hash(const aemp_val *k)
{
	uint64_t h = 1469598103934665603ull;
	size_t i;

	for (i = 0; i < k->len; i++)
		h = (h ^ (unsigned char)k->u.s[i]) * 1099511628211ull;
	return h;
}

static int
key_eq(const aemp_val *a, const aemp_val *b)
{
	return a->len == b->len &&
	       (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
}

int
eng_rcv_dedup(aemp_val *kv, size_t *npairs)
{
	size_t n = *npairs, cap = 4, keep = 0, i, slot;
	uint32_t *tab;

	if (n < 2)
		return 0;
	while (cap < 2 * n)
		cap *= 2;
	if ((tab = ring_zalloc(cap * sizeof(*tab))) == NULL)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (slot = key_hash(&kv[2 * i]) & (cap - 1); tab[slot] != 0;
		     slot = (slot + 1) & (cap - 1))
			if (key_eq(&kv[2 * (tab[slot] - 1)], &kv[2 * i]))
				break;
		if (tab[slot] != 0) { /* repeat: last value wins */
			size_t j = tab[slot] - 1;

			eng_rcv_fini(&kv[2 * j + 1]);
			kv[2 * j + 1] = kv[2 * i + 1];
			eng_rcv_fini(&kv[2 * i]);
			continue;
		}
		kv[2 * keep] = kv[2 * i];
		kv[2 * keep + 1] = kv[2 * i + 1];
		tab[slot] = (uint32_t)++keep;
	}
	ring_free(tab, cap * sizeof(*tab));
	*npairs = keep;
	return 0;
}

/* ---- the file ----------------------------------------------------------- */

/* Every "free with aemp_free" result of aemp comes from ring_alloc. */
AEMP_API void
aemp_free(void *p)
{
	ring_free(p, 0);
}

AEMP_API int
aemp_rc_path(char *buf, size_t cap)
{
	const char *env = getenv("PERL_ANYEVENT_MP_RC");
	const char *home = getenv("HOME");
	int n;

	if (env != NULL && env[0] != '\0')
		n = snprintf(buf, cap, "%s", env);
	else if (home != NULL && home[0] != '\0')
		n = snprintf(buf, cap, "%s/.perl-anyevent-mp", home);
	else
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "no configuration file: neither "
		                    "PERL_ANYEVENT_MP_RC nor HOME is set");
	if (n < 0 || (size_t)n >= cap)
		return AEMP_SET_ERR(-ERANGE,
		                    "configuration file path too long");
	return n;
}

/* Read the whole file.  Returns 0 with *text (new) and *len, 1 if the
 * file does not exist, AEMP_ECONFIG or -ENOMEM. */
static int
rc_read(const char *path, char **text, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = NULL, *nb;
	struct stat st;
	ssize_t got;
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		if (errno == ENOENT)
			return 1;
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: cannot read: %s", path,
		                    strerror(errno));
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		rc = AEMP_SET_ERR(AEMP_ECONFIG, "%s: is a directory", path);
		goto out;
	}
	for (;;) {
		if (n + 1 >= cap || buf == NULL) {
			cap = buf == NULL ? cap : cap * 2;
			if ((nb = ring_realloc(buf, cap)) == NULL) {
				rc = -ENOMEM;
				goto out;
			}
			buf = nb;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = AEMP_SET_ERR(AEMP_ECONFIG, "%s: cannot read: %s",
			                  path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
		if (n > ENG_RC_MAX_BYTES) {
			rc = AEMP_SET_ERR(AEMP_ECONFIG,
			                  "%s: larger than %u bytes", path,
			                  ENG_RC_MAX_BYTES);
			goto out;
		}
	}
	buf[n] = '\0';
	*text = buf;
	*len = n;
	buf = NULL;
out:
	ring_free(buf, 0);
	close(fd);
	return rc;
}

/* The layout every other function relies on (see the header comment). */
static int
rc_check(const char *path, const aemp_val *root)
{
	const aemp_val *prof;
	size_t i;

	if (root->type != AEMP_MAP)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s: the top level must be a JSON object",
		                    path);
	prof = eng_rcv_map_get(root, "profile");
	if (prof == NULL)
		return 0;
	if (prof->type != AEMP_MAP)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s: \"profile\" must be an object of "
		                    "profiles",
		                    path);
	for (i = 0; i < prof->len; i++)
		if (prof->u.a[2 * i + 1].type != AEMP_MAP)
			return AEMP_SET_ERR(AEMP_ECONFIG,
			                    "%s: profile \"%.*s\" must be a "
			                    "JSON object",
			                    path, (int)prof->u.a[2 * i].len,
			                    prof->u.a[2 * i].u.s);
	return 0;
}

/* {"version": 1}, what a missing (or blank) file means. */
static aemp_val *
rc_default_root(void)
{
	aemp_val *m = eng_rcv_new_map(), one = aemp_int(1);

	if (m != NULL && eng_rcv_map_set(m, "version", &one) < 0) {
		eng_rcv_free(m);
		m = NULL;
	}
	return m;
}

static int
rc_new(const char *path, aemp_val *root, aemp_rc **out)
{
	aemp_rc *rc = ring_zalloc(sizeof(*rc));
	size_t n = strlen(path);

	if (rc == NULL || (rc->path = ring_alloc(n + 1)) == NULL) {
		ring_free(rc, sizeof(*rc));
		eng_rcv_free(root);
		return -ENOMEM;
	}
	memcpy(rc->path, path, n + 1);
	rc->root = root;
	*out = rc;
	return 0;
}

int
eng_rc_from_text(const char *path, const char *text, size_t len, aemp_rc **out)
{
	aemp_val *root = NULL;
	char err[256];
	int rc;

	if (text == NULL || eng_rcv_blank(text, len)) {
		if ((root = rc_default_root()) == NULL)
			return -ENOMEM;
		return rc_new(path, root, out);
	}
	if (len > ENG_RC_MAX_BYTES)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: larger than %u bytes",
		                    path, ENG_RC_MAX_BYTES);
	rc = eng_rcv_parse(text, len, ENG_RCV_RELAXED, &root, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "%s: %s", path, err);
	if ((rc = rc_check(path, root)) < 0) {
		eng_rcv_free(root);
		return rc;
	}
	return rc_new(path, root, out);
}

AEMP_API int
aemp_rc_open(const char *path, aemp_rc **out)
{
	char buf[4096], *text = NULL;
	size_t len = 0;
	int rc;

	if (path == NULL) {
		if ((rc = aemp_rc_path(buf, sizeof(buf))) < 0)
			return rc;
		path = buf;
	}
	if ((rc = rc_read(path, &text, &len)) < 0)
		return rc;
	rc = eng_rc_from_text(path, rc == 1 ? NULL : text, len, out);
	ring_free(text, 0);
	return rc;
}

AEMP_API void
aemp_rc_close(aemp_rc *rc)
{
	if (rc == NULL)
		return;
	eng_rcv_free(rc->root);
	ring_free(rc->path, 0);
	ring_free(rc, sizeof(*rc));
}

const aemp_val *
eng_rc_root(const aemp_rc *rc)
{
	return rc->root;
}

const char *
eng_rc_path_of(const aemp_rc *rc)
{
	return rc->path;
}

/* The section of profile (NULL: the global one), or NULL if missing. */
static const aemp_val *
rc_section(const aemp_rc *rc, const char *profile)
{
	if (profile == NULL)
		return rc->root;
	return eng_rcv_map_get(eng_rcv_map_get(rc->root, "profile"), profile);
}

AEMP_API const aemp_val *
aemp_rc_get(const aemp_rc *rc, const char *profile, const char *key)
{
	return eng_rcv_map_get(rc_section(rc, profile), key);
}

AEMP_API int
aemp_rc_has_profile(const aemp_rc *rc, const char *profile)
{
	return profile != NULL && rc_section(rc, profile) != NULL;
}

AEMP_API int
aemp_rc_add_profile(aemp_rc *rc, const char *profile)
{
	aemp_val empty = aemp_map(NULL, 0);
	int err;

	if (profile == NULL)
		return AEMP_SET_ERR(-EINVAL, "no profile name");
	if (aemp_rc_has_profile(rc, profile))
		return 0;
	if (eng_rcv_map_get(rc->root, "profile") == NULL &&
	    (err = eng_rcv_map_set(rc->root, "profile", &empty)) < 0)
		return err;
	err = eng_rcv_map_set(
	        (aemp_val *)(uintptr_t)eng_rcv_map_get(rc->root, "profile"),
	        profile, &empty);
	if (err == 0)
		rc->dirty = 1;
	return err;
}

AEMP_API int
aemp_rc_del_profile(aemp_rc *rc, const char *profile)
{
	aemp_val *prof;

	if (profile == NULL)
		return AEMP_SET_ERR(-EINVAL, "no profile name");
	if (!aemp_rc_has_profile(rc, profile))
		return AEMP_SET_ERR(AEMP_ECONFIG, "no profile '%s' in %s",
		                    profile, rc->path);
	prof = (aemp_val *)(uintptr_t)eng_rcv_map_get(rc->root, "profile");
	eng_rcv_map_del(prof, profile);
	rc->dirty = 1;
	return 0;
}

AEMP_API int
aemp_rc_set(aemp_rc *rc, const char *profile, const char *key,
            const aemp_val *v)
{
	aemp_val *sec;
	int err;

	/* The profile table is managed by the *_profile calls; replacing it
	 * wholesale could break the layout invariant. */
	if (profile == NULL && strcmp(key, "profile") == 0)
		return AEMP_SET_ERR(-EINVAL, "\"profile\" is not a setting");
	if (!eng_rcv_utf8_ok(v))
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "%s: value is not valid UTF-8", key);
	if (profile != NULL && (err = aemp_rc_add_profile(rc, profile)) < 0)
		return err;
	sec = (aemp_val *)(uintptr_t)rc_section(rc, profile);
	if ((err = eng_rcv_map_set(sec, key, v)) < 0)
		return err;
	rc->dirty = 1;
	return 0;
}

AEMP_API int
aemp_rc_del(aemp_rc *rc, const char *profile, const char *key)
{
	aemp_val *sec = (aemp_val *)(uintptr_t)rc_section(rc, profile);

	if (profile == NULL && strcmp(key, "profile") == 0)
		return AEMP_SET_ERR(-EINVAL, "\"profile\" is not a setting");
	if (sec != NULL && eng_rcv_map_del(sec, key))
		rc->dirty = 1;
	return 0;
}

AEMP_API int
aemp_rc_format(const aemp_rc *rc, const char *profile, char **out)
{
	const aemp_val *sec = rc_section(rc, profile);
	size_t len;

	if (sec == NULL)
		return AEMP_SET_ERR(AEMP_ECONFIG, "no profile '%s' in %s",
		                    profile, rc->path);
	return eng_rcv_pretty(sec, out, &len);
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Write text to newp with the mode of the file it replaces (0600 for a new
 * file: it may hold a secret), and flush it to disk. */
static int
write_new(const char *path, const char *newp, const char *text, size_t len)
{
	struct stat st;
	mode_t mode = 0600;
	int fd, err;

	if (stat(path, &st) == 0)
		mode = st.st_mode & 07777;
	fd = open(newp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return AEMP_SET_ERR(-errno, "%s: cannot create: %s", newp,
		                    strerror(errno));
	err = fchmod(fd, mode) < 0 ? -errno : 0;
	if (err == 0)
		err = write_all(fd, text, len);
	if (err == 0 && fsync(fd) < 0)
		err = -errno;
	if (close(fd) < 0 && err == 0)
		err = -errno;
	if (err < 0) {
		unlink(newp);
		return AEMP_SET_ERR(err, "%s: cannot write: %s", newp,
		                    strerror(-err));
	}
	return 0;
}

AEMP_API int
aemp_rc_save(aemp_rc *rc)
{
	size_t plen = strlen(rc->path), len;
	char *text = NULL, *newp = NULL, *bak = NULL;
	int err;

	if (!rc->dirty)
		return 0;
	if ((err = eng_rcv_pretty(rc->root, &text, &len)) < 0)
		goto out;
	newp = ring_alloc(plen + 6);
	bak = ring_alloc(plen + 2);
	if (newp == NULL || bak == NULL) {
		err = -ENOMEM;
		goto out;
	}
	snprintf(newp, plen + 6, "%s~new~", rc->path);
	snprintf(bak, plen + 2, "%s~", rc->path);
	if ((err = write_new(rc->path, newp, text, len)) < 0)
		goto out;
	/* The backup is best effort, as in Perl's tool: a first save has no
	 * old file, and some file systems have no hard links. */
	unlink(bak);
	(void)link(rc->path, bak);
	if (rename(newp, rc->path) < 0) {
		err = AEMP_SET_ERR(-errno, "%s: cannot replace: %s", rc->path,
		                   strerror(errno));
		unlink(newp);
		goto out;
	}
	rc->dirty = 0;
out:
	ring_free(text, 0);
	ring_free(newp, 0);
	ring_free(bak, 0);
	return err;
}
