/*
 * engine/core/module.c - service modules: shared objects that register
 * functions when loaded (docs/hosting.md).
 *
 * A module is loaded once per node: from the `modules` key when the node
 * starts (on shard 0), with aemp_module_load, or on demand when a spawn or
 * function-name request names an unregistered "A::B::func" and A/B.so is
 * in a `module_path` directory (on the shard that got the request).  The
 * module's aemp_module_init runs on that shard thread; the functions it
 * registers are staged and published together only when it succeeds, so
 * a failed module is dlclosed before any other shard could see its code.
 * A load that fails is remembered with its reason for ENG_MOD_RETRY_NS
 * (the negative cache, at most ENG_MOD_NEG_MAX entries) and then tried
 * again.  Loaded modules stay for the node's life: at node free every
 * aemp_module_fini runs (newest module first), then every handle is
 * dlclosed.
 *
 * Threads: loading holds node->mod_mu (one load at a time per node; a
 * shard asking for a module another shard is loading waits for it; it is
 * recursive, so an init may load another module with aemp_module_load).
 * Lookups of registered functions never take it (spawn.c).
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/core/eng.h"
#include "ring/alloc.h"

#define ENG_MOD_RETRY_NS (3ull * 1000000000ull) /* negative cache expiry */
#define ENG_MOD_NEG_MAX 1024
#define ENG_MOD_NAME_MAX 200 /* longest function name mapped to a file */

struct eng_mod {
	struct eng_mod *next;
	struct aemp_node *node;
	char *path; /* realpath of the file */
	void *dl;
	void (*fini)(aemp_node *node);
	struct eng_func **staged; /* registered during init */
	size_t nstaged;
	size_t staged_cap;
};

struct eng_modneg {
	struct eng_modneg *next;
	uint64_t expire_ns;
	char *key; /* the file as asked for (relative name) */
	char reason[512];
};

static _Thread_local struct eng_mod *mod_cur;

void
eng_mod_init(struct aemp_node *node)
{
	pthread_mutexattr_t a;

	/* recursive: a module's init may load another module */
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&node->mod_mu, &a);
	pthread_mutexattr_destroy(&a);
	pthread_mutex_init(&node->reg_mu, NULL);
}

struct eng_mod *
eng_mod_loading(const struct aemp_node *node)
{
	return mod_cur != NULL && mod_cur->node == node ? mod_cur : NULL;
}

int
eng_func_stage(struct eng_mod *m, struct eng_func *f)
{
	struct eng_func **nv;
	size_t cap;

	if (m->nstaged == m->staged_cap) {
		cap = m->staged_cap ? m->staged_cap * 2 : 8;
		nv = ring_realloc(m->staged, cap * sizeof(*nv));
		if (nv == NULL)
			return -ENOMEM;
		m->staged = nv;
		m->staged_cap = cap;
	}
	f->module = m->path;
	m->staged[m->nstaged++] = f;
	return 0;
}

const struct eng_func *
eng_func_staged(const struct eng_mod *m, const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < m->nstaged; i++)
		if (m->staged[i]->len == len &&
		    memcmp(m->staged[i]->name, name, len) == 0)
			return m->staged[i];
	return NULL;
}

static void
mod_unstage(struct eng_mod *m, int drop)
{
	size_t i;

	for (i = 0; drop && i < m->nstaged; i++)
		eng_func_drop(m->staged[i]);
	ring_free(m->staged, m->staged_cap * sizeof(*m->staged));
	m->staged = NULL;
	m->nstaged = m->staged_cap = 0;
}

static void
mod_free(struct eng_mod *m)
{
	mod_unstage(m, 1);
	eng_strfree(m->path);
	ring_free(m, sizeof(*m));
}

void
eng_mod_free(struct aemp_node *node)
{
	struct eng_mod *m, *mn;
	struct eng_modneg *g, *gn;

	for (m = node->mods; m != NULL; m = m->next)
		if (m->fini != NULL)
			m->fini(node);
	for (m = node->mods; m != NULL; m = mn) {
		mn = m->next;
		dlclose(m->dl);
		mod_free(m);
	}
	node->mods = NULL;
	for (g = node->mod_neg; g != NULL; g = gn) {
		gn = g->next;
		eng_strfree(g->key);
		ring_free(g, sizeof(*g));
	}
	node->mod_neg = NULL;
	pthread_mutex_destroy(&node->mod_mu);
	pthread_mutex_destroy(&node->reg_mu);
}

/* ---- loading -------------------------------------------------------- */

/* mod_load - load the module in file on shard sh (mod_mu held).  Returns
 * 0 (also when it is loaded already), or a negative error with the reason
 * in why. */
static int
mod_load(struct eng_shard *sh, const char *file, char *why, size_t cap)
{
	struct aemp_node *node = sh->node;
	char real[PATH_MAX];
	struct eng_mod *m, *prev;
	int (*init)(aemp_node *);
	const char *err;
	int rc;

	if (realpath(file, real) == NULL) {
		rc = -errno;
		snprintf(why, cap, "%s: %s", file, strerror(errno));
		return rc;
	}
	for (m = node->mods; m != NULL; m = m->next)
		if (strcmp(m->path, real) == 0)
			return 0;
	m = ring_zalloc(sizeof(*m));
	if (m == NULL || (m->path = eng_strndup(real, strlen(real))) == NULL) {
		ring_free(m, sizeof(*m));
		snprintf(why, cap, "%s: out of memory", file);
		return -ENOMEM;
	}
	m->node = node;
	/* RTLD_NOW: a symbol the host lacks fails here, not in a handler */
	m->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (m->dl == NULL) {
		err = dlerror();
		snprintf(why, cap, "%s", err != NULL ? err : "dlopen failed");
		mod_free(m);
		return -ENOEXEC;
	}
	*(void **)&init = dlsym(m->dl, "aemp_module_init");
	if (init == NULL) {
		snprintf(why, cap,
		         "%s: not an aemp module (no aemp_module_init symbol)",
		         real);
		dlclose(m->dl);
		mod_free(m);
		return -ENOEXEC;
	}
	*(void **)&m->fini = dlsym(m->dl, "aemp_module_fini");
	prev = mod_cur;
	mod_cur = m;
	rc = init(node);
	mod_cur = prev;
	if (rc >= 0)
		rc = eng_funcs_publish(node, m->staged, m->nstaged);
	if (rc < 0) {
		snprintf(why, cap, "%s: aemp_module_init failed: %s", real,
		         aemp_strerror(rc));
		mod_unstage(m, 1);
		dlclose(m->dl);
		mod_free(m);
		return rc;
	}
	eng_log(node, AEMP_LOG_NOTE, "module %s loaded (%zu function%s)", real,
	        m->nstaged, m->nstaged == 1 ? "" : "s");
	mod_unstage(m, 0); /* published: the registry owns them now */
	m->next = node->mods;
	node->mods = m;
	return 0;
}

/* A name in module_path order: the first directory holding rel; rel as it
 * is without a module_path.  Returns 0 or -ENOENT (why says where). */
static int
mod_locate(const struct aemp_node *node, const char *rel, char *out, size_t cap,
           char *why, size_t whycap)
{
	size_t i, used = 0;
	int n;

	if (rel[0] == '/' || node->cfg.nmodule_path == 0) {
		n = snprintf(out, cap, "%s", rel);
		return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
	}
	for (i = 0; i < node->cfg.nmodule_path; i++) {
		n = snprintf(out, cap, "%s/%s", node->cfg.module_path[i], rel);
		if (n < 0 || (size_t)n >= cap)
			continue;
		if (access(out, F_OK) == 0)
			return 0;
	}
	n = snprintf(why, whycap, "no %s in module_path (", rel);
	used = n > 0 ? (size_t)n : 0;
	for (i = 0; i < node->cfg.nmodule_path && used < whycap; i++) {
		n = snprintf(why + used, whycap - used, "%s%s", i ? ":" : "",
		             node->cfg.module_path[i]);
		used += n > 0 ? (size_t)n : 0;
	}
	if (used < whycap)
		snprintf(why + used, whycap - used, ")");
	return -ENOENT;
}

/* mod_file_of - the file for a `modules` entry: a name with '/' or
 * ending in ".so" is a file name; anything else a package name, "A::B"
 * meaning A/B.so (and "Counter" Counter.so). */
static int
mod_file_of(const char *entry, char *out, size_t cap)
{
	size_t i, o = 0, len = strlen(entry);
	int n;

	if (strchr(entry, '/') != NULL ||
	    (len > 3 && strcmp(entry + len - 3, ".so") == 0)) {
		n = snprintf(out, cap, "%s", entry);
		return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
	}
	for (i = 0; entry[i] != '\0' && o + 4 < cap; i++) {
		if (entry[i] == ':' && entry[i + 1] == ':') {
			out[o++] = '/';
			i++;
		} else {
			out[o++] = entry[i];
		}
	}
	if (o + 4 >= cap)
		return -ENAMETOOLONG;
	memcpy(out + o, ".so", 4);
	return 0;
}

static int
load_entry(struct eng_shard *sh, const char *entry)
{
	char rel[PATH_MAX], path[PATH_MAX], why[512];
	int rc;

	pthread_mutex_lock(&sh->node->mod_mu);
	rc = mod_file_of(entry, rel, sizeof(rel));
	if (rc < 0)
		snprintf(why, sizeof(why), "%s: name too long", entry);
	if (rc == 0)
		rc = mod_locate(sh->node, rel, path, sizeof(path), why,
		                sizeof(why));
	if (rc == 0)
		rc = mod_load(sh, path, why, sizeof(why));
	pthread_mutex_unlock(&sh->node->mod_mu);
	if (rc < 0)
		eng_log(sh->node, AEMP_LOG_ERROR, "module %s not loaded: %s",
		        entry, why);
	return rc;
}

void
eng_mod_load_config(struct eng_shard *sh)
{
	size_t i;

	for (i = 0; i < sh->node->cfg.nmodules; i++)
		(void)load_entry(sh, sh->node->cfg.modules[i]);
}

static void
call_load(struct eng_shard *sh, struct eng_call *c)
{
	if (c->s[0] != NULL)
		c->rc = load_entry(sh, c->s[0]);
	else
		eng_mod_load_config(sh);
}

int
eng_mod_start(struct aemp_node *node)
{
	struct eng_call *c = eng_call_new(call_load, 1);
	int rc;

	if (c == NULL)
		return -ENOMEM;
	rc = eng_post(node, 0, c);
	eng_call_free(c);
	return rc;
}

AEMP_API int
aemp_module_load(aemp_node *node, const char *file)
{
	struct eng_shard *sh = eng_here(node);
	struct eng_call *c;
	int rc;

	if (file == NULL || file[0] == '\0')
		return -EINVAL;
	if (sh != NULL)
		return load_entry(sh, file);
	c = eng_call_new(call_load, 1);
	if (c == NULL || (c->s[0] = eng_strndup(file, strlen(file))) == NULL) {
		eng_call_free(c);
		return -ENOMEM;
	}
	rc = eng_post(node, 0, c);
	eng_call_free(c);
	return rc;
}

/* ---- on demand ------------------------------------------------------ */

static int
ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/*
 * rel_of_func - "A::B::func" -> "A/B.so" in out.  Only letters, digits
 * and '_' between the "::" (so no '/', '.', "..": nothing reaches out of
 * module_path).  Returns 1 with the file, 0 when the name has no package
 * ("::func", "func"), -EINVAL when it is not a valid name.
 */
static int
rel_of_func(const char *name, size_t len, char *out, size_t cap)
{
	size_t i, o = 0, last = 0, seg = 0;

	if (len > ENG_MOD_NAME_MAX || len + 4 > cap)
		return -EINVAL;
	for (i = 0; i + 1 < len; i++)
		if (name[i] == ':' && name[i + 1] == ':')
			last = i;
	if (last == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (name[i] == ':' && i + 1 < len && name[i + 1] == ':') {
			if (seg == 0)
				return -EINVAL;
			if (i < last)
				out[o++] = '/';
			seg = 0;
			i++;
			continue;
		}
		if (!ident_char(name[i]))
			return -EINVAL;
		if (i < last)
			out[o++] = name[i];
		seg++;
	}
	if (seg == 0)
		return -EINVAL;
	memcpy(out + o, ".so", 4);
	return 1;
}

/* neg_find - the live negative-cache entry for rel (dropping expired
 * ones on the way). */
static struct eng_modneg *
neg_find(struct aemp_node *node, const char *rel, uint64_t now, size_t *count)
{
	struct eng_modneg **pp = &node->mod_neg, *g, *hit = NULL;

	*count = 0;
	while ((g = *pp) != NULL) {
		if (g->expire_ns <= now) {
			*pp = g->next;
			eng_strfree(g->key);
			ring_free(g, sizeof(*g));
			continue;
		}
		if (strcmp(g->key, rel) == 0)
			hit = g;
		++*count;
		pp = &g->next;
	}
	return hit;
}

static void
neg_add(struct aemp_node *node, const char *rel, uint64_t now, size_t count,
        const char *why)
{
	struct eng_modneg *g;

	if (count >= ENG_MOD_NEG_MAX || (g = ring_zalloc(sizeof(*g))) == NULL)
		return;
	if ((g->key = eng_strndup(rel, strlen(rel))) == NULL) {
		ring_free(g, sizeof(*g));
		return;
	}
	g->expire_ns = now + ENG_MOD_RETRY_NS;
	snprintf(g->reason, sizeof(g->reason), "%s", why);
	g->next = node->mod_neg;
	node->mod_neg = g;
}

const struct eng_func *
eng_mod_find(struct eng_shard *sh, const char *func, size_t len)
{
	struct aemp_node *node = sh->node;
	const struct eng_func *f = eng_func_find(node, func, len);
	char rel[ENG_MOD_NAME_MAX + 8], path[PATH_MAX], why[512];
	struct eng_modneg *g;
	uint64_t now;
	size_t count;
	int rc;

	if (f != NULL || node->cfg.secure || node->cfg.nmodule_path == 0)
		return f;
	rc = rel_of_func(func, len, rel, sizeof(rel));
	if (rc <= 0) {
		if (rc < 0)
			eng_log(node, AEMP_LOG_ERROR,
			        "function '%.*s': not a name a module can have "
			        "(letters, digits and '_' between '::'), no "
			        "module loaded",
			        (int)AEMP_MIN(len, 200u), func);
		return NULL;
	}
	pthread_mutex_lock(&node->mod_mu);
	now = ring_now_ns();
	f = eng_func_find(node, func, len); /* loaded meanwhile? */
	g = f == NULL ? neg_find(node, rel, now, &count) : NULL;
	if (f != NULL || g != NULL) {
		if (g != NULL)
			eng_log(node, AEMP_LOG_ERROR,
			        "function '%.*s': module %s failed to load "
			        "(%s), retried after %.1f s",
			        (int)len, func, rel, g->reason,
			        (double)(g->expire_ns - now) / 1e9);
		pthread_mutex_unlock(&node->mod_mu);
		return f;
	}
	rc = mod_locate(node, rel, path, sizeof(path), why, sizeof(why));
	if (rc == 0)
		rc = mod_load(sh, path, why, sizeof(why));
	if (rc < 0) {
		neg_add(node, rel, now, count, why);
		eng_log(node, AEMP_LOG_ERROR,
		        "function '%.*s': module %s not loaded: %s", (int)len,
		        func, rel, why);
	}
	pthread_mutex_unlock(&node->mod_mu);
	f = eng_func_find(node, func, len);
	if (f == NULL && rc == 0)
		eng_log(node, AEMP_LOG_ERROR,
		        "function '%.*s': module %s does not register it",
		        (int)len, func, path);
	return f;
}
