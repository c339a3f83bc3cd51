/* Workload egress: a node's only way to the outside, when its pool (or its
 * own spec) asks for one. Off by default.
 *
 * A node's QEMU runs its user network with restrict=on (agentnet.c), so
 * the guest reaches nothing by itself. QEMU's own unrestricted mode is not
 * an option: slirp then forwards 10.0.2.2 to the host's loopback (the admin
 * API and every local service). A node with egress gets one more forward
 * instead, 10.0.2.101:3128 (TLD_EGRESS_ADDR), to its own Unix socket
 * HOME/run/NAME.egress (agentnet.c's table: same relay, same 0600 socket),
 * where this file serves an HTTP CONNECT proxy:
 *
 *   - the target is resolved here, and each address is judged before any
 *     connect (tld_egress_judge); the connect goes to the judged address,
 *     never to a name resolved again (no DNS rebinding);
 *   - never, whatever the pool says: loopback, unspecified, link-local
 *     (cloud metadata at 169.254.169.254), multicast and reserved; IPv4
 *     inside IPv6 (::ffff:a.b.c.d, 64:ff9b::/96) is judged as the IPv4;
 *   - the host's own addresses (getifaddrs at each request) only when the
 *     node's allow list names that address exactly (a.b.c.d/32): a range
 *     that happens to contain the host opens the other machines in it, not
 *     the host's services;
 *   - private ranges (10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7)
 *     only when an allow-list entry covers the address;
 *   - every refusal is answered 403 with its reason and logged with the
 *     node's name.
 *
 * Bounds: TLD_EGRESS_CONNECTIONS per node (agentnet.c refuses the rest),
 * the request head within TLD_EGRESS_HEAD and 4 KiB, a connect
 * within TLD_EGRESS_CONNECT, a tunnel closed after
 * TLD_EGRESS_IDLE without a byte either way. One thread per
 * connection (bounded by the per-node limit); tld_egress_stop waits for
 * them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tld.h"

#define HEAD_MAX 4096

struct egress_conn {
    struct tld *t;
    int fd;
    char node[TLD_NAME_MAX + 1];
    const char *allow; /* interned "cidr,cidr", "" none */
};

/* ---- the allow list ---- */

struct cidr {
    int family;
    uint8_t addr[16];
    unsigned len; /* prefix bits */
};

static bool cidr_parse(const char *s, struct cidr *out)
{
    const char *slash = strchr(s, '/');
    char a[INET6_ADDRSTRLEN];
    if (!slash || (size_t)(slash - s) >= sizeof(a))
        return false;
    memcpy(a, s, (size_t)(slash - s));
    a[slash - s] = 0;
    char *end;
    errno = 0;
    unsigned long len = strtoul(slash + 1, &end, 10);
    if (!slash[1] || *end || errno || slash[1] == '-' || slash[1] == '+')
        return false;
    if (inet_pton(AF_INET, a, out->addr) == 1) {
        out->family = AF_INET;
        out->len = (unsigned)len;
        return len <= 32;
    }
    if (inet_pton(AF_INET6, a, out->addr) == 1) {
        out->family = AF_INET6;
        out->len = (unsigned)len;
        return len <= 128;
    }
    return false;
}

static bool cidr_covers(const struct cidr *c, int family, const uint8_t *addr)
{
    if (c->family != family)
        return false;
    unsigned full = c->len / 8, rest = c->len % 8;
    if (memcmp(c->addr, addr, full) != 0)
        return false;
    if (!rest)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (c->addr[full] & mask) == (addr[full] & mask);
}

int tld_egress_allow_parse(struct tld *t, const json_t *v, const char *field, const char **out,
                           struct tl_error *err)
{
    *out = "";
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v))
        return tl_error_set_nopos(err, -EINVAL,
                                  "\"%s\" must be an array of CIDRs (\"192.168.1.0/24\")", field);
    if (json_array_size(v) > TLD_EGRESS_ALLOW_MAX)
        return tl_error_set_nopos(err, -EINVAL, "\"%s\": at most %d entries", field,
                                  TLD_EGRESS_ALLOW_MAX);
    char list[TLD_EGRESS_ALLOW_MAX * (INET6_ADDRSTRLEN + 5)] = "";
    size_t k = 0;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        const char *s = json_string_value(e);
        struct cidr c;
        if (!s || !cidr_parse(s, &c))
            return tl_error_set_nopos(err, -EINVAL,
                                      "\"%s\"[%zu]: not an IPv4 or IPv6 CIDR (\"10.1.0.0/16\", "
                                      "\"192.0.2.7/32\")",
                                      field, i);
        char a[INET6_ADDRSTRLEN];
        inet_ntop(c.family, c.addr, a, sizeof(a));
        k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s/%u", k ? "," : "", a, c.len);
    }
    if (!(*out = tld_intern(t, list)))
        return tl_error_set_nopos(err, -ENOMEM, "out of memory");
    return 0;
}

json_t *tld_egress_allow_json(const char *allow)
{
    json_t *a = json_array();
    for (const char *p = allow; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, l));
        p = c ? c + 1 : p + l;
    }
    return a;
}

/* An entry of allow covers addr; exact: only an entry that is addr itself
 * (/32, /128). */
static bool allowed(const char *allow, int family, const uint8_t *addr, bool exact)
{
    for (const char *p = allow; p && *p;) {
        const char *c = strchr(p, ',');
        size_t l = c ? (size_t)(c - p) : strlen(p);
        char one[INET6_ADDRSTRLEN + 5];
        struct cidr cd;
        if (l < sizeof(one)) {
            memcpy(one, p, l);
            one[l] = 0;
            if (cidr_parse(one, &cd) && cidr_covers(&cd, family, addr) &&
                (!exact || cd.len == (family == AF_INET ? 32u : 128u)))
                return true;
        }
        p = c ? c + 1 : p + l;
    }
    return false;
}

static bool is_host_address(int family, const uint8_t *addr)
{
    struct ifaddrs *ifs;
    if (getifaddrs(&ifs) < 0)
        return true; /* cannot tell: fail closed */
    bool found = false;
    for (struct ifaddrs *i = ifs; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != family)
            continue;
        if (family == AF_INET)
            found = memcmp(&((struct sockaddr_in *)i->ifa_addr)->sin_addr, addr, 4) == 0;
        else
            found = memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, addr, 16) == 0;
    }
    freeifaddrs(ifs);
    return found;
}

/* NULL: the address may be reached; else why not. */
const char *tld_egress_judge(const struct sockaddr *sa, const char *allow)
{
    uint8_t a[16];
    int family = sa->sa_family;
    if (family == AF_INET6) {
        const uint8_t *b = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
        if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0) {
            family = AF_INET; /* judged as the IPv4 inside */
            memcpy(a, b + 12, 4);
        } else {
            memcpy(a, b, 16);
        }
    } else if (family == AF_INET) {
        memcpy(a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else {
        return "not an IP address";
    }
    bool private_;
    if (family == AF_INET) {
        if (a[0] == 127)
            return "a loopback address";
        if (a[0] == 0)
            return "an unspecified address";
        if (a[0] == 169 && a[1] == 254)
            return "a link-local address";
        if (a[0] >= 224)
            return "a multicast or reserved address";
        private_ = a[0] == 10 || (a[0] == 172 && (a[1] & 0xf0) == 16) ||
                   (a[0] == 192 && a[1] == 168) || (a[0] == 100 && (a[1] & 0xc0) == 64);
    } else {
        static const uint8_t zero[15];
        if (memcmp(a, zero, 15) == 0)
            return a[15] == 1 ? "a loopback address" : "an unspecified address";
        if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80)
            return "a link-local address";
        if (a[0] == 0xff)
            return "a multicast address";
        if (memcmp(a, zero, 12) == 0)
            return "a reserved address"; /* ::a.b.c.d, deprecated */
        private_ = (a[0] & 0xfe) == 0xfc;
    }
    if (is_host_address(family, a))
        return allowed(allow, family, a, true)
                   ? NULL
                   : "an address of this host (allow it only as ADDRESS/32 in the pool's list)";
    if (private_ && !allowed(allow, family, a, false))
        return "a private address not in the pool's allowed ranges";
    return NULL;
}

/* ---- one connection ---- */

static void say(int fd, int status, const char *reason, const char *body)
{
    char buf[512];
    int k = snprintf(buf, sizeof(buf),
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     status, reason, body ? strlen(body) : 0, body ? body : "");
    if (k > 0)
        (void)!write(fd, buf, (size_t)k < sizeof(buf) ? (size_t)k : sizeof(buf) - 1);
}

/* Reads up to the end of the request head; *got: bytes in buf, *head: the
 * head's length (the rest is the client's first data). */
static int read_head(struct tld *t, int fd, char *buf, size_t *got, size_t *head)
{
    long long deadline = tld_now() + TLD_EGRESS_HEAD;
    *got = 0;
    while (*got < HEAD_MAX - 1) {
        long long left = deadline - tld_now();
        if (left <= 0 || t->agentnet.quit)
            return -ETIMEDOUT;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, left > 1 ? 1000 : (int)left * 1000);
        if (r < 0 && errno != EINTR)
            return -errno;
        if (r <= 0)
            continue;
        ssize_t k = read(fd, buf + *got, HEAD_MAX - 1 - *got);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (k <= 0)
            return -ECONNRESET;
        *got += (size_t)k;
        buf[*got] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            *head = (size_t)(end - buf) + 4;
            return 0;
        }
    }
    return -E2BIG;
}

/* "CONNECT host:port HTTP/1.1" → host, port ("[v6]:port" too). */
static bool parse_connect(char *line, char **host, char **port)
{
    if (strncmp(line, "CONNECT ", 8) != 0)
        return false;
    char *target = line + 8, *sp = strchr(target, ' ');
    if (!sp || strncmp(sp + 1, "HTTP/1.", 7) != 0)
        return false;
    *sp = 0;
    char *colon = strrchr(target, ':');
    if (!colon || colon == target || !colon[1])
        return false;
    *colon = 0;
    *port = colon + 1;
    if (*target == '[') {
        size_t l = strlen(target);
        if (l < 3 || target[l - 1] != ']')
            return false;
        target[l - 1] = 0;
        target++;
    }
    if (strlen(*port) > 5)
        return false;
    for (char *q = *port; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    *host = target;
    return atoi(*port) > 0 && atoi(*port) < 65536;
}

static int connect_within(const struct addrinfo *ai, int seconds)
{
    int s = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0)
        return -errno;
    if (connect(s, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
        int r = -errno;
        close(s);
        return r;
    }
    struct pollfd p = {.fd = s, .events = POLLOUT};
    int err = 0;
    socklen_t el = sizeof(err);
    if (poll(&p, 1, seconds * 1000) <= 0)
        err = ETIMEDOUT;
    else if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
        err = errno;
    if (err) {
        close(s);
        return -err;
    }
    return s;
}

/* Bytes both ways until either side closes or nothing moves for the idle
 * timeout. */
static void pump(struct tld *t, int a, int b)
{
    int fds[2] = {a, b};
    bool open_[2] = {true, true};
    long long last = tld_now();
    char buf[16384];
    while ((open_[0] || open_[1]) && !t->agentnet.quit) {
        struct pollfd p[2] = {{.fd = open_[0] ? a : -1, .events = POLLIN},
                              {.fd = open_[1] ? b : -1, .events = POLLIN}};
        int r = poll(p, 2, 1000);
        if (r < 0 && errno != EINTR)
            return;
        if (r <= 0) {
            if (tld_now() - last >= TLD_EGRESS_IDLE)
                return;
            continue;
        }
        last = tld_now();
        for (int i = 0; i < 2; i++) {
            if (!open_[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(fds[i], buf, sizeof(buf));
            if (k < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (k <= 0) {
                open_[i] = false;
                shutdown(fds[1 - i], SHUT_WR);
                continue;
            }
            for (ssize_t w = 0; w < k;) {
                ssize_t m = write(fds[1 - i], buf + w, (size_t)(k - w));
                if (m < 0 && (errno == EAGAIN || errno == EINTR)) {
                    struct pollfd q = {.fd = fds[1 - i], .events = POLLOUT};
                    if (poll(&q, 1, TLD_EGRESS_IDLE * 1000) <= 0)
                        return;
                    continue;
                }
                if (m <= 0)
                    return;
                w += m;
            }
        }
    }
}

static void refuse(struct egress_conn *c, const char *target, const char *why)
{
    tld_log("node %s: egress to %s refused: %s", c->node, target, why);
    char body[400];
    snprintf(body, sizeof(body), "egress refused: %s: %s\n", target, why);
    say(c->fd, 403, "Forbidden", body);
}

static void serve(struct egress_conn *c)
{
    char buf[HEAD_MAX];
    size_t got = 0, head = 0;
    if (read_head(c->t, c->fd, buf, &got, &head) < 0) {
        say(c->fd, 408, "Request Timeout", "egress: no complete CONNECT request\n");
        return;
    }
    char *eol = strstr(buf, "\r\n");
    *eol = 0;
    char line[512];
    snprintf(line, sizeof(line), "%s", buf);
    char *host, *port;
    if (!parse_connect(buf, &host, &port)) {
        tld_log("node %s: egress: not a CONNECT request: %.80s", c->node, line);
        say(c->fd, 405, "Method Not Allowed",
            "egress: only CONNECT host:port HTTP/1.1 is served here\n");
        return;
    }
    char target[300];
    snprintf(target, sizeof(target), "%s:%s", host, port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ais;
    if (getaddrinfo(host, port, &hints, &ais) != 0) {
        refuse(c, target, "the name does not resolve");
        return;
    }
    char why[INET6_ADDRSTRLEN + 160] = ""; /* the first refusal */
    int s = -ENOENT;
    for (struct addrinfo *ai = ais; ai && s < 0; ai = ai->ai_next) {
        const char *w = tld_egress_judge(ai->ai_addr, c->allow);
        if (w) {
            char a[INET6_ADDRSTRLEN] = "?";
            getnameinfo(ai->ai_addr, ai->ai_addrlen, a, sizeof(a), NULL, 0, NI_NUMERICHOST);
            if (!why[0])
                snprintf(why, sizeof(why), "%s is %s", a, w);
            continue;
        }
        s = connect_within(ai, TLD_EGRESS_CONNECT);
    }
    freeaddrinfo(ais);
    if (s < 0) {
        if (why[0]) {
            refuse(c, target, why);
        } else {
            char body[400];
            snprintf(body, sizeof(body), "egress: %s: %s\n", target, strerror(-s));
            say(c->fd, 502, "Bad Gateway", body);
        }
        return;
    }
    static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
    if (write(c->fd, ok, sizeof(ok) - 1) == (ssize_t)sizeof(ok) - 1 &&
        (got == head || write(s, buf + head, got - head) == (ssize_t)(got - head)))
        pump(c->t, c->fd, s);
    close(s);
}

static void *conn_thread(void *arg)
{
    struct egress_conn *c = arg;
    struct tld_egress *e = &c->t->egress;
    serve(c);
    close(c->fd);
    tld_agentnet_egress_closed(c->t, c->node);
    pthread_mutex_lock(&e->lock);
    if (--e->threads == 0)
        pthread_cond_broadcast(&e->done);
    pthread_mutex_unlock(&e->lock);
    free(c);
    return NULL;
}

int tld_egress_serve(struct tld *t, int fd, const char *node, const char *allow)
{
    struct tld_egress *e = &t->egress;
    struct egress_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    *c = (struct egress_conn){.t = t, .fd = fd, .allow = allow};
    snprintf(c->node, sizeof(c->node), "%s", node);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 << 10);
    pthread_mutex_lock(&e->lock);
    e->threads++;
    pthread_mutex_unlock(&e->lock);
    pthread_t th;
    if (pthread_create(&th, &attr, conn_thread, c) != 0) {
        pthread_attr_destroy(&attr);
        pthread_mutex_lock(&e->lock);
        e->threads--;
        pthread_mutex_unlock(&e->lock);
        close(fd);
        free(c);
        return -EAGAIN;
    }
    pthread_attr_destroy(&attr);
    return 0;
}

/* After agentnet's quit is set: each thread sees it within a second. */
static void drain(struct tld *t)
{
    struct tld_egress *e = &t->egress;
    pthread_mutex_lock(&e->lock);
    while (e->threads)
        pthread_cond_wait(&e->done, &e->lock);
    pthread_mutex_unlock(&e->lock);
}

void tld_egress_init(struct tld *t)
{
    pthread_mutex_init(&t->egress.lock, NULL);
    pthread_cond_init(&t->egress.done, NULL);
    t->agentnet.hand_egress = tld_egress_serve;
    t->agentnet.drain_egress = drain;
}
