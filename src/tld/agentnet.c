/* The nodes' agent channels: the only way from a guest to the platform.
 *
 * A node's QEMU runs its user network with restrict=on: the guest reaches
 * nothing on the host or beyond, except one forward, 10.0.2.100:80, which
 * QEMU (slirp's guestfwd) hands to a command per connection: `tld --relay
 * HOME/run/NAME.agent`, which copies bytes between the guest and the
 * node's own Unix socket (0600, in the 0700 run folder). tld listens on one
 * such socket per running VM node; a connection accepted on node N's socket
 * is handed (the hand function api.c registers: its agents' HTTP daemon)
 * with N as its address, and api.c serves it N's agent routes only.
 *
 * So a guest cannot reach the admin API, another node's routes, or any
 * other service on the host's loopback, whatever credentials it holds; and
 * it cannot tie up the admin listener. Each channel takes at most
 * TLD_CHANNEL_CONNECTIONS connections at once: a flooding guest is refused
 * on its own channel only.
 *
 * A node with workload egress (egress.c) has a second channel in this
 * table, HOME/run/NAME.egress behind 10.0.2.101:3128, served by egress.c's
 * CONNECT proxy, TLD_EGRESS_CONNECTIONS at once.
 *
 * One thread accepts on every channel (poll over the listening sockets and
 * a wake-up pipe); the table has its own mutex, never held across I/O
 * other than the non-blocking accept. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "tld.h"

struct tld_agent_chan {
    char node[TLD_NAME_MAX + 1];
    char path[108];
    int fd;
    unsigned open;     /* connections handed to the daemon, not yet closed */
    bool egress;       /* the egress channel, not the agent's */
    const char *allow; /* egress: the node's allow list (interned) */
};

/* What the acceptor polls, copied out of the table */
struct polled {
    char node[TLD_NAME_MAX + 1];
    bool egress;
    const char *allow;
};

static void wake(struct tld_agentnet *a)
{
    (void)!write(a->wake[1], "w", 1);
}

static void *acceptor(void *arg)
{
    struct tld *t = arg;
    struct tld_agentnet *a = &t->agentnet;
    struct pollfd *fds = NULL;
    struct polled *names = NULL;
    size_t cap = 0;
    while (!a->quit) {
        pthread_mutex_lock(&a->lock);
        size_t n = a->n + 1;
        if (n > cap) {
            struct pollfd *nf = realloc(fds, n * sizeof(*fds));
            if (nf)
                fds = nf;
            struct polled *nn = realloc(names, n * sizeof(*names));
            if (nn)
                names = nn;
            if (nf && nn)
                cap = n;
        }
        if (n > cap)
            n = cap; /* out of memory: serve those that fit */
        fds[0] = (struct pollfd){.fd = a->wake[0], .events = POLLIN};
        for (size_t i = 1; i < n; i++) {
            fds[i] = (struct pollfd){.fd = a->chans[i - 1].fd, .events = POLLIN};
            memcpy(names[i].node, a->chans[i - 1].node, sizeof(names[i].node));
            names[i].egress = a->chans[i - 1].egress;
            names[i].allow = a->chans[i - 1].allow;
        }
        pthread_mutex_unlock(&a->lock);
        if (poll(fds, n, 1000) <= 0)
            continue;
        if (fds[0].revents & POLLIN) {
            char buf[64];
            (void)!read(a->wake[0], buf, sizeof(buf));
            continue; /* the table changed: the fds may be closed */
        }
        for (size_t i = 1; i < n; i++) {
            if (!(fds[i].revents & POLLIN))
                continue;
            pthread_mutex_lock(&a->lock);
            struct tld_agent_chan *ch = NULL;
            for (size_t j = 0; j < a->n; j++)
                if (a->chans[j].fd == fds[i].fd && a->chans[j].egress == names[i].egress &&
                    strcmp(a->chans[j].node, names[i].node) == 0)
                    ch = &a->chans[j];
            int cfd = ch ? accept4(ch->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK) : -1;
            int (*hand)(struct tld *, int, const char *) = a->hand;
            bool room = ch && ch->open < (names[i].egress ? TLD_EGRESS_CONNECTIONS
                                                          : TLD_CHANNEL_CONNECTIONS);
            if (cfd >= 0 && room)
                ch->open++;
            pthread_mutex_unlock(&a->lock);
            if (cfd < 0)
                continue;
            if (!room) {
                close(cfd); /* this guest has enough connections open */
                continue;
            }
            if (names[i].egress) {
                if (!a->hand_egress) {
                    close(cfd);
                    tld_agentnet_egress_closed(t, names[i].node);
                } else if (a->hand_egress(t, cfd, names[i].node, names[i].allow) < 0) {
                    tld_agentnet_egress_closed(t, names[i].node); /* it closed cfd */
                }
            } else if (!hand || hand(t, cfd, names[i].node) < 0) { /* hand closes cfd */
                if (!hand)
                    close(cfd);
                tld_agentnet_closed(t, names[i].node);
            }
        }
    }
    free(fds);
    free(names);
    return NULL;
}

int tld_agentnet_start(struct tld *t)
{
    struct tld_agentnet *a = &t->agentnet;
    pthread_mutex_init(&a->lock, NULL);
    if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        return -errno;
    if (pthread_create(&a->thread, NULL, acceptor, t) != 0)
        return -EAGAIN;
    a->running = true;
    return 0;
}

void tld_agentnet_stop(struct tld *t)
{
    struct tld_agentnet *a = &t->agentnet;
    if (!a->running)
        return;
    a->quit = 1;
    wake(a);
    pthread_join(a->thread, NULL);
    if (a->drain_egress)
        a->drain_egress(t); /* its connections see quit within a second */
    a->running = false;
    for (size_t i = 0; i < a->n; i++)
        close(a->chans[i].fd); /* the sockets stay: a restarted tld binds them again */
    free(a->chans);
    a->chans = NULL;
    a->n = a->cap = 0;
    close(a->wake[0]);
    close(a->wake[1]);
}

static int chan_path(const struct tld *t, const char *node, bool egress, char *out, size_t size)
{
    int k = snprintf(out, size, "%s/run/%s.%s", t->home, node, egress ? "egress" : "agent");
    return k > 0 && (size_t)k < size && (size_t)k < sizeof(((struct sockaddr_un *)0)->sun_path)
               ? 0
               : -ENAMETOOLONG;
}

int tld_agentnet_path(const struct tld *t, const char *node, char *out, size_t size)
{
    return chan_path(t, node, false, out, size);
}

int tld_agentnet_egress_path(const struct tld *t, const char *node, char *out, size_t size)
{
    return chan_path(t, node, true, out, size);
}

static int chan_open(struct tld *t, const char *node, bool egress, const char *allow)
{
    struct tld_agentnet *a = &t->agentnet;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (chan_path(t, node, egress, sa.sun_path, sizeof(sa.sun_path)) < 0)
        return -ENAMETOOLONG;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->chans[i].node, node) == 0 && a->chans[i].egress == egress) {
            pthread_mutex_unlock(&a->lock);
            return 0; /* open already (a re-adopted node) */
        }
    pthread_mutex_unlock(&a->lock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    unlink(sa.sun_path);
    mode_t old = umask(0177); /* the socket is born 0600 */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || listen(fd, 16) < 0) {
        r = -errno;
        close(fd);
        return r;
    }
    pthread_mutex_lock(&a->lock);
    if (a->n == a->cap) {
        size_t cap = a->cap ? 2 * a->cap : 8;
        struct tld_agent_chan *nc = realloc(a->chans, cap * sizeof(*nc));
        if (!nc) {
            pthread_mutex_unlock(&a->lock);
            close(fd);
            unlink(sa.sun_path);
            return -ENOMEM;
        }
        a->chans = nc;
        a->cap = cap;
    }
    struct tld_agent_chan *ch = &a->chans[a->n++];
    *ch = (struct tld_agent_chan){.fd = fd, .egress = egress, .allow = allow ? allow : ""};
    snprintf(ch->node, sizeof(ch->node), "%s", node);
    snprintf(ch->path, sizeof(ch->path), "%s", sa.sun_path);
    pthread_mutex_unlock(&a->lock);
    wake(a);
    return 0;
}

int tld_agentnet_open(struct tld *t, const struct tld_node *n)
{
    int r = chan_open(t, n->name, false, NULL);
    if (r >= 0 && n->spec.egress && (r = chan_open(t, n->name, true, n->spec.egress_allow)) < 0)
        tld_agentnet_close(t, n->name);
    return r;
}

void tld_agentnet_close(struct tld *t, const char *node)
{
    struct tld_agentnet *a = &t->agentnet;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n;) {
        if (strcmp(a->chans[i].node, node) == 0) {
            close(a->chans[i].fd);
            unlink(a->chans[i].path);
            a->chans[i] = a->chans[--a->n];
            continue;
        }
        i++;
    }
    pthread_mutex_unlock(&a->lock);
    wake(a);
}

static void chan_closed(struct tld_agentnet *a, const char *node, bool egress)
{
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->chans[i].node, node) == 0 && a->chans[i].egress == egress &&
            a->chans[i].open > 0)
            a->chans[i].open--;
    pthread_mutex_unlock(&a->lock);
}

void tld_agentnet_closed(struct tld *t, const char *node)
{
    chan_closed(&t->agentnet, node, false);
}

void tld_agentnet_egress_closed(struct tld *t, const char *node)
{
    chan_closed(&t->agentnet, node, true);
}

/* `tld --relay SOCKET`: QEMU's guestfwd command for one guest connection.
 * stdin and stdout are the guest's connection (slirp's socket); bytes go
 * both ways until either side closes. Prints nothing: its stderr is the
 * guest's connection too. */
int tld_relay_main(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(sa.sun_path))
        return 2;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return 1;
    struct pollfd p[2] = {{.fd = 0, .events = POLLIN}, {.fd = s, .events = POLLIN}};
    int out[2] = {s, 1};
    bool open_[2] = {true, true};
    char buf[65536];
    while (open_[0] || open_[1]) {
        p[0].fd = open_[0] ? 0 : -1;
        p[1].fd = open_[1] ? s : -1;
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        for (int i = 0; i < 2; i++) {
            if (!open_[i] || !(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t k = read(p[i].fd, buf, sizeof(buf));
            if (k <= 0) {
                open_[i] = false;
                shutdown(out[i], SHUT_WR); /* half-close: the other side may still answer */
                if (i == 1)
                    return 0; /* tld answered and closed */
                continue;
            }
            for (ssize_t w = 0; w < k;) {
                ssize_t m = write(out[i], buf + w, (size_t)(k - w));
                if (m <= 0)
                    return 1;
                w += m;
            }
        }
    }
    return 0;
}
