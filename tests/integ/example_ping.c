/*
 * tests/integ/example_ping.c - the example of README.md, kept compiling
 * and passing: two nodes in one process, a port that answers "ping" with
 * "pong", and a cal between them over loopback.
 */
#include <aemp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A port handler: reply ["pong", N] to the reply port at the end. */
static int
pinger(aemp_node *node, const aemp_val *msg, size_t n, void *arg)
{
	char reply[AEMP_ID_MAX];
	const aemp_val *to = &msg[n - 1];

	(void)arg;
	if (n < 3 || !aemp_str_eq(&msg[0], "ping") || to->type != AEMP_STR)
		return aemp_fail(node, "bad request");
	snprintf(reply, sizeof(reply), "%.*s", (int)to->len, to->u.s);
	return aemp_snd(node, reply, AEMP_MSG(aemp_str("pong"), msg[1]));
}

static atomic_int done;

static void
on_reply(aemp_node *node, int status, const aemp_val *reply, size_t n,
         void *arg)
{
	int64_t v = 0;

	(void)node;
	(void)arg;
	if (status == 0 && n == 2 && aemp_get_int(&reply[1], &v) == 0)
		printf("got %s %lld\n",
		       aemp_str_eq(&reply[0], "pong") ? "pong" : "?",
		       (long long)v);
	atomic_store(&done, status == 0 && v == 42 ? 1 : -1);
}

static aemp_node *
make_node(const char *id, const char *seeds)
{
	aemp_conf *conf;
	aemp_node *node = NULL;

	aemp_conf_new(&conf);
	aemp_conf_set_json(conf, "norc", "true"); /* no ~/.perl-anyevent-mp */
	aemp_conf_set_str(conf, "nodeid", id);
	aemp_conf_set_str(conf, "secret", "s3cr3t");
	aemp_conf_set_json(conf, "binds", "[\"127.0.0.1:0\"]");
	if (seeds != NULL)
		aemp_conf_set_json(conf, "seeds", seeds);
	if (aemp_node_new(conf, &node) < 0)
		fprintf(stderr, "%s: %s\n", id, aemp_errmsg());
	aemp_conf_free(conf);
	return node;
}

int
main(void)
{
	char addr[256];
	aemp_node *a, *b;
	aemp_id port;
	int i;

	a = make_node("alpha", NULL);
	aemp_node_listeners(a, addr, sizeof(addr)); /* ["127.0.0.1:PORT"] */
	b = make_node("beta", addr);                /* beta seeds alpha */
	if (a == NULL || b == NULL)
		return 1;
	aemp_port(a, pinger, NULL, &port); /* "alpha#..." */
	aemp_node_start(a);
	aemp_node_start(b);
	/* beta calls alpha's port: ["ping", 42, REPLYPORT] -> ["pong", 42] */
	aemp_cal(b, port.s, AEMP_MSG(aemp_str("ping"), aemp_int(42)), on_reply,
	         NULL, 5.0, NULL);
	for (i = 0; i < 1000 && atomic_load(&done) == 0; i++)
		usleep(10000);
	aemp_node_free(b);
	aemp_node_free(a);
	return atomic_load(&done) == 1 ? 0 : 1;
}
