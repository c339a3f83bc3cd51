/* Deadlines and per-client limits for the API's connections (slowloris).
 *
 * libmicrohttpd closes a connection that sends nothing for
 * TLD_IDLE_TIMEOUT, but has no deadline for a request as a whole: a client
 * that trickles one header byte every few seconds holds its connection
 * forever, and TLD_API_CONNECTIONS of them lock every health check and
 * every caller out. So each connection is tracked here from its start
 * (MHD_OPTION_NOTIFY_CONNECTION), in three phases:
 *
 *   headers   from the start, or the end of the previous request on a
 *             kept-alive connection: the request's headers must be in
 *             within TLD_HEADER_DEADLINE seconds;
 *   body      from the headers (the handler's first call): the body must
 *             be in within TLD_BODY_DEADLINE seconds;
 *   handling  the handler has everything: no deadline (a handler's own
 *             work is bounded elsewhere).
 *
 * A sweeper thread shuts down (shutdown(SHUT_RDWR)) a connection past its
 * phase's deadline; libmicrohttpd then sees the end of its socket and
 * closes it. The shutdown happens under this table's mutex, which the
 * CLOSED notification takes too, and libmicrohttpd 0.9.75 calls that
 * notification before it closes the socket (daemon.c,
 * MHD_cleanup_connections and internal_add_connection's failure path): an
 * fd in the table is always still the connection's, never a reused one.
 *
 * Per-client limit: a client identifiable on the admin listener holds at
 * most TLD_CLIENT_CONNECTIONS connections at once; beyond that a new one
 * is shut down at its start. A loopback caller is identified by the user
 * that owns its socket (the kernel's sock_diag: every local user shares
 * 127.0.0.1, not a uid), any other by its IP address. tld's own user (the
 * owner of TL_HOME, who holds operator.token and can stop tld anyway) is not
 * limited: the limit keeps other local users and other hosts from locking
 * it and each other out. Agent channels
 * (Unix sockets, one per node) have their own per-node limit (agentnet.c).
 * So a local user with 1,100 trickling connections holds at most
 * TLD_CLIENT_CONNECTIONS slots, each for at most TLD_HEADER_DEADLINE
 * seconds, and health checks and agents go on being answered.
 *
 * Every entry lives from NOTIFY_STARTED to NOTIFY_CLOSED, reached in O(1)
 * through the connection's socket context; the sweeper walks the list
 * twice a second. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tld.h"

enum phase { HEADERS, BODY, HANDLING };

struct tld_conn {
    struct tld_conn *prev, *next;
    int fd;
    enum phase phase;
    long long since;           /* ms, monotonic: when the phase began */
    bool shut;                 /* shut down already (a deadline or the client limit) */
    struct tld_client *client; /* NULL: not counted (an agent channel) */
};

struct tld_client {
    char key[64]; /* "uid 1000", "198.51.100.7" */
    unsigned conns;
    long long last_log; /* ms */
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The uid owning the client end of a loopback TCP connection (the kernel's
 * inet_diag, one exact lookup); -errno when the kernel does not say. */
static int loopback_uid(int fd, const struct sockaddr *peer, uid_t *uid)
{
    struct sockaddr_storage local;
    socklen_t ll = sizeof(local);
    if (getsockname(fd, (struct sockaddr *)&local, &ll) < 0)
        return -errno;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req = {
        .nlh = {.nlmsg_len = sizeof(req),
                .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST},
        .r = {.sdiag_family = (uint8_t)peer->sa_family,
              .sdiag_protocol = IPPROTO_TCP,
              .idiag_states = ~0u,
              .id.idiag_cookie = {INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE}},
    };
    /* the client's socket: source = the peer, destination = us */
    if (peer->sa_family == AF_INET) {
        const struct sockaddr_in *p = (const void *)peer, *l = (const void *)&local;
        req.r.id.idiag_sport = p->sin_port;
        req.r.id.idiag_dport = l->sin_port;
        memcpy(req.r.id.idiag_src, &p->sin_addr, 4);
        memcpy(req.r.id.idiag_dst, &l->sin_addr, 4);
    } else {
        const struct sockaddr_in6 *p = (const void *)peer, *l = (const void *)&local;
        req.r.id.idiag_sport = p->sin6_port;
        req.r.id.idiag_dport = l->sin6_port;
        memcpy(req.r.id.idiag_src, &p->sin6_addr, 16);
        memcpy(req.r.id.idiag_dst, &l->sin6_addr, 16);
    }
    int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s < 0)
        return -errno;
    struct timeval tv = {.tv_sec = 1};
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    int r = -ENOENT;
    if (sendto(s, &req, sizeof(req), 0, (struct sockaddr *)&nl, sizeof(nl)) < 0) {
        r = -errno;
    } else {
        union {
            struct nlmsghdr h;
            char buf[8192];
        } ans;
        ssize_t k = recv(s, &ans, sizeof(ans), 0);
        for (struct nlmsghdr *h = &ans.h; k > 0 && NLMSG_OK(h, (size_t)k); h = NLMSG_NEXT(h, k)) {
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY ||
                h->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                break;
            const struct inet_diag_msg *m = NLMSG_DATA(h);
            *uid = m->idiag_uid;
            r = 0;
            break;
        }
    }
    close(s);
    return r;
}

/* The client's key; false: not a client counted here (an agent channel). */
static bool client_key(int fd, const struct sockaddr *peer, char *key, size_t size)
{
    if (!peer || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
        return false;
    char a[INET6_ADDRSTRLEN] = "?";
    const void *addr =
        peer->sa_family == AF_INET
            ? (const void *)&((const struct sockaddr_in *)(const void *)peer)->sin_addr
            : (const void *)&((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr;
    inet_ntop(peer->sa_family, addr, a, sizeof(a));
    bool loop =
        peer->sa_family == AF_INET
            ? (ntohl(((const struct sockaddr_in *)(const void *)peer)->sin_addr.s_addr) >> 24) ==
                  127
            : IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)(const void *)peer)->sin6_addr);
    uid_t uid;
    if (loop && loopback_uid(fd, peer, &uid) == 0) {
        if (uid == geteuid())
            return false; /* the owner: it holds operator.token and can stop tld anyway */
        snprintf(key, size, "uid %u", (unsigned)uid);
    } else {
        /* a remote host (or a loopback peer the kernel did not name: all
         * such share one client's slots) */
        snprintf(key, size, "%s", a);
    }
    return true;
}

/* With d->lock held. */
static struct tld_client *client_get(struct tld_deadline *d, const char *key)
{
    for (size_t i = 0; i < d->n_clients; i++)
        if (strcmp(d->clients[i]->key, key) == 0)
            return d->clients[i];
    if (d->n_clients == d->cap_clients) {
        size_t cap = d->cap_clients ? 2 * d->cap_clients : 16;
        struct tld_client **nc = realloc(d->clients, cap * sizeof(*nc));
        if (!nc)
            return NULL;
        d->clients = nc;
        d->cap_clients = cap;
    }
    struct tld_client *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    snprintf(c->key, sizeof(c->key), "%s", key);
    d->clients[d->n_clients++] = c;
    return c;
}

/* With d->lock held: one connection fewer; a client with none is forgotten. */
static void client_put(struct tld_deadline *d, struct tld_client *c)
{
    if (!c || --c->conns)
        return;
    for (size_t i = 0; i < d->n_clients; i++)
        if (d->clients[i] == c) {
            d->clients[i] = d->clients[--d->n_clients];
            free(c);
            return;
        }
}

void tld_deadline_notify(struct tld *t, struct MHD_Connection *c, void **socket_context, int code)
{
    struct tld_deadline *d = &t->deadline;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fi =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        const union MHD_ConnectionInfo *ai =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        struct tld_conn *e = calloc(1, sizeof(*e));
        if (!fi || !e) {
            free(e);
            return; /* untracked: the idle timeout still applies */
        }
        *e = (struct tld_conn){.fd = fi->connect_fd, .phase = HEADERS, .since = now_ms()};
        char key[64];
        bool counted = client_key(e->fd, ai ? ai->client_addr : NULL, key, sizeof(key));
        bool over = false, say = false;
        pthread_mutex_lock(&d->lock);
        if (counted && (e->client = client_get(d, key))) {
            over = e->client->conns >= TLD_CLIENT_CONNECTIONS;
            e->client->conns++;
            if (over && e->since - e->client->last_log >= 10000) {
                e->client->last_log = e->since;
                say = true;
            }
        }
        if (over) {
            shutdown(e->fd, SHUT_RDWR);
            e->shut = true;
        }
        e->next = d->head;
        if (d->head)
            d->head->prev = e;
        d->head = e;
        *socket_context = e;
        pthread_mutex_unlock(&d->lock);
        if (say)
            tld_log("api: client %s holds %d connections: more are refused", key,
                    TLD_CLIENT_CONNECTIONS);
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        struct tld_conn *e = *socket_context;
        if (!e)
            return;
        pthread_mutex_lock(&d->lock); /* before libmicrohttpd closes e->fd */
        if (e->prev)
            e->prev->next = e->next;
        else
            d->head = e->next;
        if (e->next)
            e->next->prev = e->prev;
        client_put(d, e->client);
        pthread_mutex_unlock(&d->lock);
        *socket_context = NULL;
        free(e);
    }
}

static struct tld_conn *entry(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void tld_deadline_request(struct tld *t, struct MHD_Connection *c, bool first, bool body_done)
{
    struct tld_conn *e = entry(c);
    if (!e)
        return;
    pthread_mutex_lock(&t->deadline.lock);
    if (first && e->phase == HEADERS) {
        e->phase = BODY;
        e->since = now_ms();
    } else if (!first && body_done) {
        e->phase = HANDLING;
    }
    pthread_mutex_unlock(&t->deadline.lock);
}

void tld_deadline_request_done(struct tld *t, struct MHD_Connection *c)
{
    struct tld_conn *e = entry(c);
    if (!e)
        return;
    pthread_mutex_lock(&t->deadline.lock);
    e->phase = HEADERS; /* a kept-alive connection's next request */
    e->since = now_ms();
    pthread_mutex_unlock(&t->deadline.lock);
}

static void *sweeper(void *arg)
{
    struct tld *t = arg;
    struct tld_deadline *d = &t->deadline;
    pthread_mutex_lock(&d->lock);
    while (!d->quit) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 500 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&d->wake, &d->lock, &until);
        long long now = now_ms();
        unsigned headers = 0, bodies = 0;
        for (struct tld_conn *e = d->head; e; e = e->next) {
            if (e->shut || e->phase == HANDLING)
                continue;
            long long limit =
                (e->phase == HEADERS ? TLD_HEADER_DEADLINE : TLD_BODY_DEADLINE) * 1000LL;
            if (now - e->since < limit)
                continue;
            shutdown(e->fd, SHUT_RDWR); /* still e's: CLOSED has not run (we hold the lock) */
            e->shut = true;
            if (e->phase == HEADERS)
                headers++;
            else
                bodies++;
        }
        if (headers || bodies) {
            pthread_mutex_unlock(&d->lock);
            tld_log("api: closed %u connection(s) without headers within %d s, %u without a "
                    "body within %d s",
                    headers, TLD_HEADER_DEADLINE, bodies, TLD_BODY_DEADLINE);
            pthread_mutex_lock(&d->lock);
        }
    }
    pthread_mutex_unlock(&d->lock);
    return NULL;
}

int tld_deadline_start(struct tld *t)
{
    struct tld_deadline *d = &t->deadline;
    pthread_mutex_init(&d->lock, NULL);
    pthread_cond_init(&d->wake, NULL);
    if (pthread_create(&d->thread, NULL, sweeper, t) != 0)
        return -EAGAIN;
    d->running = true;
    return 0;
}

/* After the daemons stopped (every connection CLOSED). */
void tld_deadline_stop(struct tld *t)
{
    struct tld_deadline *d = &t->deadline;
    if (!d->running)
        return;
    pthread_mutex_lock(&d->lock);
    d->quit = true;
    pthread_cond_signal(&d->wake);
    pthread_mutex_unlock(&d->lock);
    pthread_join(d->thread, NULL);
    d->running = false;
    for (size_t i = 0; i < d->n_clients; i++)
        free(d->clients[i]);
    free(d->clients);
    d->clients = NULL;
    d->n_clients = d->cap_clients = 0;
}
