/*
 * engine/conf/config.h - the effective configuration of a node, typed and
 * validated (aemp-protocol.md §7.1), built from an aemp_conf.
 *
 * Threads: built once on the thread creating the node; read-only after.
 */
#ifndef ENGINE_CONF_CONFIG_H
#define ENGINE_CONF_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "aemp.h"
#include "engine/conf/addr.h"

#define ENG_MAX_FRAMINGS 4
#define ENG_MAX_AUTH 8
#define ENG_MAX_EXEMPT 32  /* per_addr_exempt entries */
#define ENG_MAX_CPUS 64    /* one per shard at most */
#define ENG_CPU_LIMIT 4096 /* CPU numbers are below this */
#define ENG_MAX_PATHS 64   /* modules, module_path entries */
#define ENG_PATH_MAX 1024  /* bytes per modules/module_path entry */

struct eng_config {
	char nodeid[AEMP_ID_MAX]; /* expanded from the template */
	int nodeid_random;        /* template had %u or a trailing '/' */
	char *profile;            /* effective profile name */
	char *secret;             /* NULL: none */
	size_t secret_len;
	char *cert; /* PEM blob, NULL: none */
	size_t cert_len;
	char **binds; /* specs as configured (§7.2), NULL-ended */
	size_t nbinds;
	char **seeds; /* specs as configured, NULL-ended */
	size_t nseeds;
	aemp_val *services; /* ARRAY (deep copy), never NULL */
	int secure;
	double monitor_timeout;  /* seconds */
	double connect_interval; /* seconds */
	/* framing_format filtered to what aemp speaks (json, cbor), in order;
	 * storable and unknown names are dropped (§3.5, §9). */
	uint8_t framings[ENG_MAX_FRAMINGS]; /* enum cod_framing */
	size_t nframings;
	/* auth lists as configured, by name (cleartext etc. kept as given) */
	char *auth_offer[ENG_MAX_AUTH];
	size_t nauth_offer;
	char *auth_accept[ENG_MAX_AUTH];
	size_t nauth_accept;
	int autocork;
	int nodelay;
	/* aemp extensions */
	int shards;        /* 0: one per CPU */
	size_t max_packet; /* bytes */
	size_t max_queue;  /* bytes per connection */
	/* Packets above this many bytes go to aemp peers in fragments
	 * (docs/protocol.md "Fragments"); 0: never, and not offered. */
	size_t fragment_size;
	/* Bytes a connection's socket may hold each way (SO_RCVBUF, and
	 * TCP_NOTSENT_LOWAT for unsent bytes); 0: the kernel's automatic
	 * sizing (docs/config.md "Socket buffers and latency"). */
	size_t socket_buffer;
	int max_handshakes;
	/* Handshakes of accepted connections (docs/config.md "Handshakes
	 * under attack"): pending ones per source address (IPv6: per /64)
	 * unless it lies in per_addr_exempt; stage deadlines in seconds
	 * from the accept (handshake_timeout also for outgoing ones). */
	int max_handshakes_per_addr;
	struct eng_prefix per_addr_exempt[ENG_MAX_EXEMPT];
	size_t nper_addr_exempt;
	double first_byte_timeout;
	double greeting_timeout;
	double handshake_timeout; /* unset: 2 x monitor_timeout */
	double node_gc_delay;     /* seconds a remote node stays idle before
	                       * its record is freed */
	size_t max_thread_queue;  /* bytes per application thread and shard */
	int log_level;
	char *metrics; /* "IP:PORT" of the metrics endpoint, NULL: off */
	/* With the endpoint on, one handler run in metrics_sample is timed
	 * (aemp_handler_seconds); 0: none. */
	uint32_t metrics_sample;
	/* Low-latency mode (docs/threading.md "Spinning"): an idle shard
	 * polls for this long before it sleeps; 0: never spins. */
	uint32_t busy_poll_us;
	/* Shard i runs pinned to CPU cpus[i]; ncpus 0: not pinned.  When set,
	 * ncpus equals shards (or gives the shard count if shards is 0). */
	int cpus[ENG_MAX_CPUS];
	int ncpus;
	/* Service modules (docs/hosting.md): files loaded at start, and the
	 * directories searched for relative names and on-demand loads.
	 * NULL-ended arrays (never NULL). */
	char **modules;
	size_t nmodules;
	char **module_path;
	size_t nmodule_path;
	/* Things that are not errors but deserve a AEMP_LOG_WARN line each
	 * when the node starts: Perl-only settings (eval, services that are
	 * Perl modules, which are left out of `services`), unknown keys,
	 * unsupported framing or auth names, seeds without a port.
	 * NULL-ended; nwarnings may be 0. */
	char **warnings;
	size_t nwarnings;
};

/*
 * eng_config_build - validate c's effective configuration (resolving it
 * first if needed) into *out.  Returns 0, AEMP_ECONFIG with the offending
 * key and reason in aemp_errmsg, or -ENOMEM.  On error *out holds nothing
 * to free.
 */
int eng_config_build(const aemp_conf *c, struct eng_config *out);

/* eng_config_fini - free everything *cfg holds. */
void eng_config_fini(struct eng_config *cfg);

/*
 * eng_conf_resolve_rc - aemp_conf_resolve, but with the file already in
 * memory as rc (borrowed; unsaved changes included) instead of reading
 * aemp_rc_path().  For `aemp showconfig` after edits in the same command
 * line, and for tests.  Returns as aemp_conf_resolve.
 */
int eng_conf_resolve_rc(aemp_conf *c, const aemp_rc *rc);

#endif /* ENGINE_CONF_CONFIG_H */
