/*
 * engine/conf/addr.c - bind and seed specifications (aemp-protocol.md §7.2) and
 * numeric socket address text (§1.7), see engine/conf/addr.h.
 *
 * A spec list entry holds one or more comma-separated specs; each spec is
 * parsed into (host, port), then expanded: "*" through getifaddrs() with
 * the filters of §7.2, any other host through getaddrinfo().  Results are
 * de-duplicated by their numeric text and kept in specification order.
 *
 * Invariants: at most ADDR_MAX results per call (a bound on what a
 * configuration can make us bind or dial); host names are at most 255
 * bytes.
 *
 * Threads: reentrant; getaddrinfo may block, so this runs on the control
 * plane only.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "engine/conf/addr.h"
#include "ring/alloc.h"
#include "ring/base.h"

#define ADDR_MAX 1024
#define HOST_MAX 256

struct spec {
	const char *text; /* the spec as written (not NUL-terminated) */
	size_t text_len;
	char host[HOST_MAX]; /* "*" for every interface */
	int port;            /* 0: ephemeral / unspecified */
	int explicit_port;   /* a non-zero port was given */
};

struct alist {
	struct eng_addr *a;
	size_t n;
	size_t cap;
};

static int
nodename(char *buf, size_t cap)
{
	struct utsname u;

	if (uname(&u) < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "uname: %s", strerror(errno));
	snprintf(buf, cap, "%s", u.nodename);
	return 0;
}

/* "*" or 0..65535 in (s, n); -1 if invalid. */
static int
port_parse(const char *s, size_t n)
{
	int port = 0;
	size_t i;

	if (n == 1 && s[0] == '*')
		return 0;
	if (n == 0 || n > 5)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port <= 65535 ? port : -1;
}

static int
all_digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Split (s, n) into host and port text per §7.2: "[v6]:port", "[v6]",
 * "host:port", "host", or a bare IPv6 literal (two or more colons). */
static int
split_hostport(const char *s, size_t n, const char **h, size_t *hn,
               const char **p, size_t *pn)
{
	const char *close, *colon;

	*p = NULL;
	*pn = 0;
	if (s[0] == '[') {
		close = memchr(s, ']', n);
		if (close == NULL)
			return -1;
		*h = s + 1;
		*hn = (size_t)(close - s - 1);
		if ((size_t)(close - s) + 1 == n)
			return 0;
		if (close[1] != ':')
			return -1;
		*p = close + 2;
		*pn = n - (size_t)(close - s) - 2;
		return *pn > 0 ? 0 : -1;
	}
	*h = s;
	*hn = n;
	colon = memchr(s, ':', n);
	if (colon == NULL ||
	    memchr(colon + 1, ':', n - (size_t)(colon - s) - 1))
		return 0;
	*hn = (size_t)(colon - s);
	*p = colon + 1;
	*pn = n - *hn - 1;
	return *pn > 0 ? 0 : -1;
}

static int
spec_parse(const char *s, size_t n, struct spec *sp)
{
	const char *h, *p;
	size_t hn, pn;

	sp->text = s;
	sp->text_len = n;
	sp->port = 0;
	if (all_digits(s, n)) { /* "" or "4040": this host's name */
		if (nodename(sp->host, sizeof(sp->host)) < 0)
			return AEMP_ECONFIG;
		h = sp->host;
		hn = strlen(sp->host);
		p = s;
		pn = n;
	} else if (split_hostport(s, n, &h, &hn, &p, &pn) < 0) {
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "bad address '%.*s': expected HOST[:PORT] "
		                    "or [IPv6][:PORT]",
		                    (int)n, s);
	}
	if (hn == 0 || hn >= HOST_MAX)
		return AEMP_SET_ERR(AEMP_ECONFIG, "bad address '%.*s': %s",
		                    (int)n, s,
		                    hn ? "host name too long" : "missing host");
	if (pn > 0 && (sp->port = port_parse(p, pn)) < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "bad address '%.*s': port must be 0..65535 "
		                    "or '*'",
		                    (int)n, s);
	if (h != sp->host) {
		memcpy(sp->host, h, hn);
		sp->host[hn] = '\0';
	}
	sp->explicit_port = sp->port != 0;
	return 0;
}

/* Call fn for every comma-separated spec of entry.  An empty entry is one
 * empty spec (this host, port 0); empty fields between commas are skipped. */
static int
spec_each(const char *entry, int (*fn)(const struct spec *, void *), void *arg)
{
	const char *s = entry, *comma;
	struct spec sp;
	size_t n;
	int rc;

	if (entry[0] == '\0') {
		if ((rc = spec_parse(entry, 0, &sp)) < 0)
			return rc;
		return fn(&sp, arg);
	}
	for (;;) {
		comma = strchr(s, ',');
		n = comma ? (size_t)(comma - s) : strlen(s);
		if (n > 0) {
			if ((rc = spec_parse(s, n, &sp)) < 0)
				return rc;
			if ((rc = fn(&sp, arg)) < 0)
				return rc;
		}
		if (comma == NULL)
			return 0;
		s = comma + 1;
	}
}

static int
count_noport(const struct spec *sp, void *arg)
{
	if (!sp->explicit_port)
		(*(size_t *)arg)++;
	return 0;
}

int
eng_addr_spec_check(const char *entry, size_t *noport)
{
	*noport = 0;
	return spec_each(entry, count_noport, noport);
}

int
eng_addr_format(const struct sockaddr *sa, char *buf, size_t cap)
{
	char ip[INET6_ADDRSTRLEN];
	const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;

	if (cap > 0)
		buf[0] = '\0';
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		return snprintf(buf, cap, "%s:%u", ip, ntohs(s4->sin_port));
	}
	if (sa->sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		return snprintf(buf, cap, "[%s]:%u", ip, ntohs(s6->sin6_port));
	}
	return 0;
}

static void
set_port(struct sockaddr *sa, int port)
{
	if (sa->sa_family == AF_INET)
		((struct sockaddr_in *)sa)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)sa)->sin6_port = htons((uint16_t)port);
}

static int
alist_add(struct alist *l, const struct sockaddr *sa, socklen_t len, int port)
{
	struct eng_addr a, *na;
	size_t i;

	if (len > sizeof(a.ss) ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6))
		return 0;
	memset(&a, 0, sizeof(a));
	memcpy(&a.ss, sa, len);
	a.len = len;
	set_port((struct sockaddr *)&a.ss, port);
	eng_addr_format((struct sockaddr *)&a.ss, a.text, sizeof(a.text));
	for (i = 0; i < l->n; i++)
		if (strcmp(l->a[i].text, a.text) == 0)
			return 0;
	if (l->n == ADDR_MAX)
		return AEMP_SET_ERR(AEMP_ECONFIG,
		                    "more than %d addresses in one list",
		                    ADDR_MAX);
	if (l->n == l->cap) {
		size_t ncap = l->cap ? 2 * l->cap : 8;

		if ((na = ring_realloc(l->a, ncap * sizeof(*na))) == NULL)
			return -ENOMEM;
		l->a = na;
		l->cap = ncap;
	}
	l->a[l->n++] = a;
	return 0;
}

/* §7.2 filter for '*': IPv4 but 127/8; IPv6 global unicast (2000::/3)
 * and unique local (fc00::/7). */
static int
if_addr_wanted(const struct sockaddr *sa)
{
	const uint8_t *b;

	if (sa->sa_family == AF_INET) {
		b = (const uint8_t *)&((const struct sockaddr_in *)sa)
		            ->sin_addr;
		return b[0] != 127;
	}
	if (sa->sa_family == AF_INET6) {
		b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
		return (b[0] >= 0x20 && b[0] <= 0x3f) || b[0] == 0xfc ||
		       b[0] == 0xfd;
	}
	return 0;
}

/* Addresses of interface `name` of one family, in getifaddrs order. */
static int
add_if_family(struct alist *l, const struct ifaddrs *all, const char *name,
              int family, int port)
{
	const struct ifaddrs *i;
	int rc;

	for (i = all; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL || i->ifa_addr->sa_family != family ||
		    strcmp(i->ifa_name, name) != 0 ||
		    !if_addr_wanted(i->ifa_addr))
			continue;
		rc = alist_add(l, i->ifa_addr,
		               family == AF_INET ? sizeof(struct sockaddr_in)
		                                 : sizeof(struct sockaddr_in6),
		               port);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Is i the first entry of its interface in the list? */
static int
if_first(const struct ifaddrs *all, const struct ifaddrs *i)
{
	const struct ifaddrs *j;

	for (j = all; j != i; j = j->ifa_next)
		if (strcmp(j->ifa_name, i->ifa_name) == 0)
			return 0;
	return 1;
}

static int
add_interfaces(struct alist *l, int port)
{
	struct ifaddrs *all = NULL, *i;
	int rc = 0;

	if (getifaddrs(&all) < 0)
		return AEMP_SET_ERR(AEMP_ECONFIG, "getifaddrs: %s",
		                    strerror(errno));
	for (i = all; i != NULL && rc == 0; i = i->ifa_next) {
		if (!if_first(all, i))
			continue;
		rc = add_if_family(l, all, i->ifa_name, AF_INET, port);
		if (rc == 0)
			rc = add_if_family(l, all, i->ifa_name, AF_INET6, port);
	}
	freeifaddrs(all);
	return rc;
}

static int
add_dns(struct alist *l, const struct spec *sp)
{
	struct addrinfo hints, *res = NULL, *ai;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(sp->host, NULL, &hints, &res);
	if (rc != 0)
		return AEMP_SET_ERR(
		        AEMP_ECONFIG, "cannot resolve '%s' (in '%.*s'): %s",
		        sp->host, (int)sp->text_len, sp->text,
		        rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
	for (ai = res, rc = 0; ai != NULL && rc == 0; ai = ai->ai_next)
		rc = alist_add(l, ai->ai_addr, ai->ai_addrlen, sp->port);
	freeaddrinfo(res);
	return rc;
}

struct resolve {
	struct alist l;
	void (*bad)(void *arg, const char *why);
	void *arg;
};

static int
resolve_one(const struct spec *sp, void *arg)
{
	struct resolve *r = arg;
	int rc;

	if (strcmp(sp->host, "*") == 0)
		return add_interfaces(&r->l, sp->port);
	rc = add_dns(&r->l, sp);
	if (rc == AEMP_ECONFIG && r->bad != NULL) {
		r->bad(r->arg, aemp_errmsg());
		rc = 0;
	}
	return rc;
}

int
eng_addr_resolve_lenient(char *const *specs, size_t nspecs,
                         struct eng_addr **out, size_t *n,
                         void (*bad)(void *arg, const char *why), void *arg)
{
	struct resolve r = {{NULL, 0, 0}, bad, arg};
	size_t i, noport;
	int rc;

	/* Syntax first, so a typo is reported before any DNS wait. */
	for (i = 0; i < nspecs; i++)
		if ((rc = eng_addr_spec_check(specs[i], &noport)) < 0)
			return rc;
	for (i = 0; i < nspecs; i++) {
		if ((rc = spec_each(specs[i], resolve_one, &r)) < 0) {
			ring_free(r.l.a, 0);
			return rc;
		}
	}
	*out = r.l.a;
	*n = r.l.n;
	return 0;
}

int
eng_addr_resolve(char *const *specs, size_t nspecs, struct eng_addr **out,
                 size_t *n)
{
	return eng_addr_resolve_lenient(specs, nspecs, out, n, NULL, NULL);
}

void
eng_addr_free(struct eng_addr *a)
{
	ring_free(a, 0);
}

int
eng_addr_parse_numeric(const char *text, size_t len, struct eng_addr *a)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->ss;
	char host[INET6_ADDRSTRLEN];
	const char *h, *p;
	size_t hn, pn;
	int port;

	memset(a, 0, sizeof(*a));
	if (len == 0 || len >= ENG_ADDR_TEXT_MAX ||
	    memchr(text, '\0', len) != NULL ||
	    split_hostport(text, len, &h, &hn, &p, &pn) < 0 || pn == 0 ||
	    hn == 0 || hn >= sizeof(host) || (port = port_parse(p, pn)) < 0 ||
	    (pn == 1 && p[0] == '*'))
		goto bad;
	memcpy(host, h, hn);
	host[hn] = '\0';
	if (text[0] != '[' && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		a->len = sizeof(*s4);
	} else if (text[0] == '[' &&
	           inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		a->len = sizeof(*s6);
	} else {
		goto bad;
	}
	set_port((struct sockaddr *)&a->ss, port);
	eng_addr_format((struct sockaddr *)&a->ss, a->text, sizeof(a->text));
	return 0;
bad:
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "bad address '%.*s': expected IP:PORT or "
	                    "[IPv6]:PORT",
	                    (int)AEMP_MIN(len, 80), text);
}

/* ---- prefixes ------------------------------------------------------------ */

int
eng_prefix_parse(const char *s, size_t n, struct eng_prefix *p)
{
	char host[INET6_ADDRSTRLEN];
	const char *slash;
	size_t hn;
	long bits = -1;
	char *end;

	memset(p, 0, sizeof(*p));
	for (; n > 0 && (*s == ' ' || *s == '\t'); s++, n--)
		; /* "a, b" in a comma list */
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	slash = memchr(s, '/', n);
	hn = slash != NULL ? (size_t)(slash - s) : n;
	if (hn == 0 || hn >= sizeof(host) || memchr(s, '\0', n) != NULL)
		goto bad;
	memcpy(host, s, hn);
	host[hn] = '\0';
	if (inet_pton(AF_INET, host, p->a) == 1)
		p->family = AF_INET;
	else if (inet_pton(AF_INET6, host, p->a) == 1)
		p->family = AF_INET6;
	else
		goto bad;
	p->bits = p->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		char num[8];
		size_t k = n - hn - 1;

		if (k == 0 || k >= sizeof(num))
			goto bad;
		memcpy(num, slash + 1, k);
		num[k] = '\0';
		bits = strtol(num, &end, 10);
		if (*end != '\0' || num[0] < '0' || num[0] > '9' || bits < 0 ||
		    bits > p->bits)
			goto bad;
		p->bits = (uint8_t)bits;
	}
	return 0;
bad:
	return AEMP_SET_ERR(AEMP_ECONFIG,
	                    "bad address prefix '%.*s': expected IP or "
	                    "IP/BITS (numeric IPv4 or IPv6)",
	                    (int)AEMP_MIN(n, 80), s);
}

/* bits_equal - the first bits bits of a and b are equal. */
static int
bits_equal(const uint8_t *a, const uint8_t *b, unsigned bits)
{
	unsigned whole = bits / 8, rest = bits % 8;
	uint8_t mask = (uint8_t)(0xff00u >> rest);

	if (memcmp(a, b, whole) != 0)
		return 0;
	return rest == 0 || ((a[whole] ^ b[whole]) & mask) == 0;
}

int
eng_prefix_match(const struct eng_prefix *p, const struct sockaddr *sa)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
	                                   0, 0, 0, 0, 0xff, 0xff};
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		a = (const uint8_t *)&(
		            (const struct sockaddr_in *)(const void *)sa)
		            ->sin_addr;
		return p->family == AF_INET && bits_equal(a, p->a, p->bits);
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	a = ((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr;
	if (p->family == AF_INET6)
		return bits_equal(a, p->a, p->bits);
	return memcmp(a, mapped, sizeof(mapped)) == 0 &&
	       bits_equal(a + 12, p->a, p->bits);
}
