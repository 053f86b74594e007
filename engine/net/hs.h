/*
 * engine/net/hs.h - the AEMP handshake (aemp-protocol.md §2) as a state
 * machine without I/O: the connection feeds it received bytes and sends
 * the bytes it produces.  With TLS the connection switches the transport
 * under it after the greeting (HS_TLS) and keeps feeding plaintext.
 *
 * Sequence for one connection:
 *   eng_hs_init       -> output holds both greeting lines (send at once)
 *   eng_hs_feed/step  -> HS_PEER_ID once the remote line 1 is parsed: the
 *                        caller checks "talk to myself" / "already
 *                        connected" and may hand the connection to the
 *                        peer's shard; then steps again
 *                     -> HS_TLS if both sides have certificates: start TLS
 *                        (role eng_hs_tls_client), feed the bytes of
 *                        eng_hs_take_rest into it; the auth line is in the
 *                        output and must travel inside TLS; step again
 *                        with decrypted input
 *                     -> HS_DONE when the peer's auth line verified;
 *                        eng_hs_take_rest gives the first data bytes
 *   errors: a negative code, with eng_hs_error() giving the reason in the
 *   words of §2.11 ("authentication failure/shared secret mismatch", ...)
 *
 * Bounds: at most ENG_HS_BUF_MAX unconsumed bytes before the peer's auth
 * line is verified (§2.2); longer input fails with AEMP_EOVERFLOW.  A
 * caller holding a larger read feeds eng_hs_room() bytes at a time and
 * steps in between.
 *
 * Invariants: peer_id, proto and dataconn_id point into the struct itself
 * (r1 or l1), so a handshake is never copied once line 1 has arrived; it
 * may move between threads as a whole (by pointer).  No secret and no
 * token of the peer ever appears in err.
 *
 * Threads: one handshake is used by one thread at a time; the
 * configuration is shared read-only.
 */
#ifndef ENGINE_NET_HS_H
#define ENGINE_NET_HS_H

#include <stddef.h>
#include <stdint.h>

#include "codec/codec.h"
#include "crypto/crypto.h"

#define ENG_HS_BUF_MAX 4096
#define ENG_HS_NONCE_BYTES 66 /* 88 Base64 characters */
#define ENG_HS_LINE_MAX ENG_HS_BUF_MAX

/* Node-wide handshake settings (borrowed, read-only). */
struct eng_hs_cfg {
	const char *nodeid;
	size_t idlen;
	const char *secret; /* NULL: no shared secret */
	size_t secret_len;
	int have_cert;           /* we can do TLS: send tls=1.0 */
	const uint8_t *framings; /* enum cod_framing, preference order */
	size_t nframings;
	char *const *auth_offer; /* methods we may send */
	size_t noffer;
	char *const *auth_accept; /* methods we advertise (greeting) */
	size_t naccept;
	const char *provider; /* "aemp-0.1.0" */
	int frag;             /* we take fragments: send aemp_frag=1 */
};

enum eng_hs_ev {
	HS_NEED_MORE = 0,
	HS_PEER_ID = 1,
	HS_TLS = 2,
	HS_DONE = 3,
};

struct eng_hs {
	const struct eng_hs_cfg *cfg;
	int state;
	/* our lines, without LF */
	char l1[ENG_HS_LINE_MAX];
	size_t l1len;
	char l2[96];
	size_t l2len;
	/* remote lines, without terminators */
	char r1[ENG_HS_LINE_MAX];
	size_t r1len;
	char r2[ENG_HS_LINE_MAX];
	size_t r2len;
	/* peer facts from line 1 */
	const char *peer_id; /* points into r1 */
	size_t peer_idlen;
	int peer_tls;            /* tls=1.x present */
	int peer_frag;           /* aemp_frag=1.x present: the peer takes
	                          * fragments (docs/protocol.md) */
	int dataconn;            /* remote protocol aemp-dataconn */
	const char *proto;       /* connection protocol after the upgrade */
	size_t protolen;         /* rule of §2.5: "aemp" or "aemp-WORD" */
	const char *dataconn_id; /* dataconn_id=... value, NULL if absent */
	size_t dataconn_idlen;
	/* negotiation */
	int tls; /* both sides TLS (tls_ok) */
	enum cry_auth send_auth;
	enum cod_framing send_framing; /* what we send (peer's choice) */
	enum cod_framing recv_framing; /* what the peer sends (auth line) */
	enum cry_auth recv_auth;
	/* buffers */
	uint8_t in[ENG_HS_BUF_MAX + 1];
	size_t inlen;
	size_t scan; /* in[0..scan) holds no LF */
	uint8_t out[2 * ENG_HS_LINE_MAX + 512];
	size_t outlen;
	size_t out_plain; /* HS_TLS: leading output bytes to send
	                              in plaintext (unsent greeting) */
	int rest_owed;    /* HS_TLS: input not yet taken */
	int err_code;     /* sticky failure, 0 if none */
	char err[160];
};

/*
 * eng_hs_init - start a handshake: build both greeting lines (peeraddr =
 * the other side's address as "HOST:PORT", or NULL to omit the key; nonce
 * = 66 bytes, or NULL for fresh CSPRNG bytes) into the output.  Returns 0,
 * AEMP_ECONFIG (empty node ID or one with ';', CR or LF in a field, line
 * longer than 4095 bytes), or a negated errno from the random source.
 * cfg is borrowed for the life of the handshake.
 */
int eng_hs_init(struct eng_hs *hs, const struct eng_hs_cfg *cfg,
                const char *peeraddr, const uint8_t *nonce);

/*
 * eng_hs_init_lines - eng_hs_init with our line 1 given verbatim (l1, n
 * bytes, borrowed and copied) instead of built from cfg.  Test-only: it
 * replays recorded transcripts byte for byte (key order, foreign provider
 * strings).  The protocol field of l1 becomes our protocol, so a line
 * starting "aemp-dataconn;" also tests the §2.14 variant.  Returns 0,
 * AEMP_ECONFIG (l1 holds CR or LF, is empty or too long), or a negated
 * errno from the random source.
 */
int eng_hs_init_lines(struct eng_hs *hs, const struct eng_hs_cfg *cfg,
                      const char *l1, size_t n, const uint8_t *nonce);

/* eng_hs_feed - append received bytes (plaintext).  Returns 0, or
 * AEMP_EOVERFLOW when more than ENG_HS_BUF_MAX bytes are waiting (the
 * handshake has then failed), or the earlier failure's code. */
int eng_hs_feed(struct eng_hs *hs, const uint8_t *p, size_t n);

/* eng_hs_room - how many bytes eng_hs_feed accepts now. */
size_t eng_hs_room(const struct eng_hs *hs);

/*
 * eng_hs_step - advance with the input fed so far.  Returns an enum
 * eng_hs_ev, or AEMP_EHANDSHAKE (refused: version, protocol, bad node ID,
 * talk to myself, echo, no common auth or framing, no secret or TLS,
 * unknown method, unusable framing) / AEMP_EAUTH (token mismatch) /
 * AEMP_ETLS (hashing failed) with the reason in eng_hs_error().  A failure
 * is final: later calls return the same code.  After HS_PEER_ID, HS_TLS
 * or HS_DONE, call again (HS_DONE repeats).  After HS_TLS the caller must
 * have taken the rest (eng_hs_take_rest) before feeding or stepping.
 */
int eng_hs_step(struct eng_hs *hs);

/* eng_hs_output - bytes waiting to be sent; eng_hs_output_done - n of them
 * were handed to the transport. */
const uint8_t *eng_hs_output(const struct eng_hs *hs, size_t *len);
void eng_hs_output_done(struct eng_hs *hs, size_t n);

/* eng_hs_output_plain - after HS_TLS: how many leading output bytes are
 * the rest of the greeting and go out in plaintext before TLS starts (0
 * when the caller handed the greeting over before the peer's line 2). */
size_t eng_hs_output_plain(const struct eng_hs *hs);

/* eng_hs_take_rest - move the unconsumed input out (the TLS stream after
 * HS_TLS, the first data bytes after HS_DONE): copies up to cap bytes into
 * buf and returns the count (the buffer holds at most ENG_HS_BUF_MAX). */
size_t eng_hs_take_rest(struct eng_hs *hs, uint8_t *buf, size_t cap);

/* eng_hs_tls_client - after HS_TLS: 1 if we are the TLS client (our
 * nonce line sorts first), else 0. */
int eng_hs_tls_client(const struct eng_hs *hs);

/* eng_hs_greeted - 1 once both lines of the peer's greeting arrived
 * (and passed their checks), else 0. */
int eng_hs_greeted(const struct eng_hs *hs);

/* eng_hs_error - the reason of the last failure ("" if none). */
const char *eng_hs_error(const struct eng_hs *hs);

#endif /* ENGINE_NET_HS_H */
