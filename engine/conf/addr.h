/*
 * engine/conf/addr.h - bind and seed specifications (aemp-protocol.md §7.2) and
 * socket address text ("IP:PORT", "[IPv6]:PORT", §1.7).
 *
 * Threads: reentrant; resolution may block (DNS) and is done on the control
 * plane only (node creation, seed timer on the control shard).
 */
#ifndef ENGINE_CONF_ADDR_H
#define ENGINE_CONF_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define ENG_ADDR_TEXT_MAX 64

struct eng_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[ENG_ADDR_TEXT_MAX]; /* numeric "IP:PORT" / "[IPv6]:PORT" */
};

/*
 * eng_addr_resolve - expand spec strings per §7.2 into numeric endpoints:
 * entries may hold several comma-separated specs; digits-only (or empty)
 * means HOSTNAME:DIGITS; HOST[:PORT] with a missing port giving 0 and '*'
 * giving 0; host '*' expands to every interface address (IPv4 except
 * 127/8, IPv6 global unicast 0x20-0x3F or unique local 0xFC/0xFD; IPv4
 * first per interface); any other host resolves via DNS to all its
 * addresses.  Results are de-duplicated and kept in specification order.
 * Returns 0 and *out / *n (new array, free with eng_addr_free), or
 * AEMP_ECONFIG (bad spec, unknown host; message names the spec), -ENOMEM.
 */
int eng_addr_resolve(char *const *specs, size_t nspecs, struct eng_addr **out,
                     size_t *n);

/*
 * eng_addr_resolve_lenient - as eng_addr_resolve, but a host name that
 * does not resolve is reported to bad(arg, message) and skipped instead
 * of failing the list (seeds: one dead name must not disable the
 * others).  Syntax errors and -ENOMEM still fail.  *n may be 0.
 */
int eng_addr_resolve_lenient(char *const *specs, size_t nspecs,
                             struct eng_addr **out, size_t *n,
                             void (*bad)(void *arg, const char *why),
                             void *arg);

void eng_addr_free(struct eng_addr *a);

/*
 * eng_addr_spec_check - check the syntax of one binds/seeds entry (one or
 * more comma-separated specs, §7.2) without resolving anything.  *noport
 * receives the number of specs with no port or port 0/'*' (fine for binds,
 * useless for seeds).  Returns 0 or AEMP_ECONFIG naming the bad spec.
 */
int eng_addr_spec_check(const char *entry, size_t *noport);

/* eng_addr_format - numeric text of sa into buf ("" for unknown families).
 * Returns the length. */
int eng_addr_format(const struct sockaddr *sa, char *buf, size_t cap);

/* eng_addr_parse_numeric - parse "IP:PORT" / "[IPv6]:PORT" (numeric only,
 * no DNS) into *a.  Returns 0 or AEMP_ECONFIG. */
int eng_addr_parse_numeric(const char *text, size_t len, struct eng_addr *a);

/*
 * An address prefix ("127.0.0.0/8", "::1", "fd00::/8", a bare address =
 * the full length): per_addr_exempt (docs/config.md).  IPv4 prefixes
 * also match IPv4-mapped IPv6 addresses (::ffff:a.b.c.d).
 */
struct eng_prefix {
	sa_family_t family; /* AF_INET or AF_INET6 */
	uint8_t bits;       /* prefix length */
	uint8_t a[16];      /* network bytes (4 used for AF_INET) */
};

/* eng_prefix_parse - parse s (n bytes, numeric, no DNS; blanks around it
 * are ignored) into *p.  Returns 0 or AEMP_ECONFIG (message names the
 * text). */
int eng_prefix_parse(const char *s, size_t n, struct eng_prefix *p);

/* eng_prefix_match - 1 if sa (AF_INET or AF_INET6) lies in p, else 0. */
int eng_prefix_match(const struct eng_prefix *p, const struct sockaddr *sa);

#endif /* ENGINE_CONF_ADDR_H */
