/* tld: the platform daemon. This header is the map of its parts:
 *
 *   main.c     options, the data directory, the address file, the loop
 *   store.c    SQLite (WAL) store of documents (kind, key, JSON),
 *              attestations and alerts; nodestore.c: nodes as documents
 *   node.c     the node table (name index), interned paths, node paths;
 *              node_doc.c a node as JSON (API view, store document)
 *   lifecycle.c a node's operations: create, start, stop, reimage,
 *              delete, and the ends the supervision loop sees; vm.c (vm.h)
 *              their I/O: files, swtpm and QEMU (the host library's
 *              detached children, tlhost/proc.h), vTPMs provisioned by
 *              the host library (tlh_vtpm_provision, tlhost/vtpm.h);
 *              node_security.c a node's security type, TEE and disk
 *              security (confidential VMs); gueststate.c (gueststate.h)
 *              its vTPM state and variable store sealed in one file;
 *              paravisor.c `tld --paravisor`, a confidential node's vTPM
 *              relay serving the HCL report (tlhost/paravisor.h)
 *   vtpmread.c the host's own read of a vTPM's PCRs once QEMU let go of it
 *   report.c   what a node's agent posts: checked and summarised
 *   supervise.c the loop: crashes, boot diagnostics, boot timeouts,
 *              re-adopting running nodes after a tld restart
 *   api.c      the REST server (libmicrohttpd); routes.c the routing
 *              table and handlers; call.c their helpers (api.h); auth.c
 *              callers and roles; agentnet.c the guests' channels;
 *              egress.c their CONNECT proxies; deadline.c connections'
 *              deadlines; docs/api.md
 *   attest.c   the attestation service (attest.h lists its files:
 *              attest_log.c, attest_codec.c, attest_state.c, enrol.c,
 *              alert.c, attest_tpm.c, attest_tee.c; and policy.c,
 *              token.c, webhook.c)
 *   fleet.c    resource groups, clusters, node pools (fleet.h lists its
 *              files: fleet_request.c, fleet_api.c; vmres.c the virtual
 *              machines); reconcile.c and
 *              reconcile_plan.c drive pools to what they ask for
 *   ekca.c     the platform EK CA certifying an external node's own EK
 *   keyvault.c vaults and HSM keys (tlhost/keystore.h); keyvault_api.c
 *              their routes; keyrelease.c a key released to an attested
 *              node's TPM key
 *   metrics.c  GET /metrics: the counters and Prometheus's text format;
 *              metrics_state.c a scrape's gauges read from the state
 *
 * Errors: domain code (lifecycle, vm, attest, enrol, report, attest_state,
 * ekca, hostpath, egress, feature, fleet_request, auth's API tokens)
 * returns -errno with a struct tl_error (capacity.c: -errno and a message
 * buffer); only the API layer (api.c, routes.c, call.c, fleet_api.c, vmres.c) speaks HTTP,
 * tld_http_status (call.c) mapping one to a status (below, at ERR).
 *
 * Locking: one mutex (tld.lock) guards the node table, the fleet and the
 * nodes' records; the HTTP threads, the supervision loop and the
 * reconciler take it, and hold it only for short parts: a node operation
 * lets it go for its I/O with the node claimed (lifecycle.c), and report,
 * enroll, attest, a pool update's image check and a node's policy do
 * their slow half between two holds (routes.c). Under it still: SQLite
 * commits.
 *
 * The node table grows as nodes are created (up to TLD_MAX_NODES) and is
 * indexed by name (a chained hash, node.c): external nodes (an agent
 * elsewhere, no VM here) are cheap, and a platform holds 100,000 of them.
 * A node's memory is kept small for that: its image and variable store
 * paths are interned (one copy per distinct path, kept for the life of
 * tld), the rest is the JSON records below.
 *
 * Every process tld starts is recorded with its pid and its start time
 * (field 22 of /proc/PID/stat): a pid alone could be reused by an unrelated
 * process after a crash; the pair cannot. */
#pragma once

#include <jansson.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "tlhost/keystore.h"
#include "tlhost/proc.h"

struct tl_ekca;
struct tld;
struct MHD_Daemon;

/* auth.c: who a caller is (docs/api.md, "Authentication and roles") */
enum tld_role {
    TLD_ROLE_NONE,
    TLD_ROLE_READER,
    TLD_ROLE_OPERATOR,
    TLD_ROLE_AGENT,
    TLD_ROLE_RELYING_PARTY,
};

struct tld_caller {
    enum tld_role role;
    char node[64]; /* agent: the node it speaks for */
    bool channel;  /* came in on the node's agent channel (a guest) */
    char who[96];  /* for messages: "operator (operator.token)", "token NAME" */
};

struct tld_api_token {
    char name[64];
    enum tld_role role;
    uint8_t sha256[32];
    long long created;
};

struct tld_auth {
    uint8_t operator_sha256[32]; /* HOME/operator.token's */
    pthread_mutex_t lock;        /* the API tokens (checked outside tld.lock) */
    struct tld_api_token *tokens;
    size_t n_tokens, cap_tokens;
};

/* manifest.c: image manifests, read once per image file */
struct tld_manifest_entry;
struct tld_manifests {
    pthread_mutex_t lock; /* memory only */
    struct tld_manifest_entry **entries;
    size_t n; /* one per image folder: a handful */
};
void tld_manifests_init(struct tld *t);
void tld_manifests_free(struct tld *t);
/* IMAGE/manifest.json parsed (libtl's tl_manifest), shared and counted:
 * a new reference, or NULL with msg set; without tld.lock. */
struct tld_manifest;
struct tld_manifest *tld_manifest_get(struct tld *t, const char *image, char *msg, size_t msz);
const struct tl_manifest *tld_manifest_parsed(const struct tld_manifest *m);
void tld_manifest_unref(struct tld_manifest *m);

/* capacity.c: quotas and the host's capacity */
#define TLD_CONCURRENT_CREATES 4
struct tld_capacity {
    unsigned total_limit; /* vCPUs of all pools ("Total Regional vCPUs") */
    struct {
        char name[48];
        unsigned limit;
    } families[16];
    size_t n_families;
    unsigned host_memory_mib, host_vcpus; /* what nodes may take of this host */
    unsigned concurrent_creates;          /* nodes booting at once */
};

/* api.c: the two HTTP daemons */
struct tld_api {
    struct MHD_Daemon *admin;  /* loopback TCP: every route, authenticated */
    struct MHD_Daemon *agents; /* the nodes' agent channels (agentnet.c) */
    _Atomic size_t inflight;   /* bytes of request bodies held */
};

/* kube_api.c: the read-only Kubernetes API kubectl reads (HTTPS, its own
 * listener on loopback; docs/api.md "Kubernetes API"): nodes as core/v1
 * Nodes, with kube_cert.c's certificate and kube_node.c's objects */
#define TLD_KUBE_CONNECTIONS 64  /* its connections at once */
#define TLD_KUBE_PER_CLIENT  32  /* one client address's */
#define TLD_KUBE_WATCHES     8   /* watches streaming at once (429 beyond) */
#define TLD_KUBE_WATCH_MAX   300 /* s: a watch ends by then (kubectl starts another) */
struct tld_kube {
    struct MHD_Daemon *daemon;
    int port;
    char *ca_pem, *cert_pem, *key_pem; /* kube_cert.c's, HOME/kube */
    _Atomic unsigned watches;
};

/* agentnet.c: one Unix socket per running VM node, its guest's only way out */
struct tld_agent_chan;
struct tld_agentnet {
    /* who serves an accepted connection (api.c): closes fd on failure */
    int (*hand)(struct tld *t, int fd, const char *node);
    /* who serves a guest's egress connection (egress.c registers itself in
     * tld_egress_init: agentnet.c does not import it): closes fd on
     * failure; and who waits, once quit is set, for those served to end */
    int (*hand_egress)(struct tld *t, int fd, const char *node, const char *allow);
    void (*drain_egress)(struct tld *t);
    pthread_mutex_t lock;
    struct tld_agent_chan *chans;
    size_t n, cap;
    int wake[2];
    pthread_t thread;
    bool running;
    volatile int quit;
};

/* webhook.c: alerts POSTed to $TL_ALERT_WEBHOOK by one background thread */
#define TLD_WEBHOOK_QUEUE 256
struct tld_webhook {
    char url[1024];
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cv;
    char *queue[TLD_WEBHOOK_QUEUE]; /* a ring of JSON bodies: count from head */
    size_t head, count;
    bool running, stopping;
};

/* retention.c: attestations pruned to each node's newest TLD_ATTEST_KEEP
 * (TL_ATTEST_KEEP) plus its failures, by one thread on a store
 * connection of its own, every TL_ATTEST_PRUNE_SECONDS */
#define TLD_ATTEST_KEEP 16
struct tld_retention {
    int keep;     /* 0: everything is kept (no thread) */
    int period_s; /* between passes */
    struct tld_store *store;
    pthread_t thread;
    pthread_mutex_t lock; /* the fields below */
    pthread_cond_t cv;
    long long upto;   /* the newest attestation id the last pass saw */
    uint64_t deleted; /* since start */
    unsigned long passes;
    bool running, stopping;
};

/* deadline.c: the API connections' deadlines and per-client limits */
struct tld_conn;
struct tld_client;
struct tld_deadline {
    pthread_mutex_t lock; /* also held across shutdown() of a tracked fd */
    pthread_cond_t wake;
    struct tld_conn *head; /* every open connection of both daemons */
    struct tld_client **clients;
    size_t n_clients, cap_clients;
    pthread_t thread;
    bool running, quit;
};

/* egress.c: the CONNECT proxies of nodes with workload egress */
struct tld_egress {
    pthread_mutex_t lock;
    pthread_cond_t done;
    unsigned threads; /* connections being served */
};

/* Sets msg (a char buffer with its size msz in scope) and gives status:
 * the "return ERR(404, "no node named %s", name)" of the API's handlers.
 * Domain code (lifecycle.c, vm.c, ...) returns -errno with a struct
 * tl_error instead: tl_error_set_nopos(err, -EINVAL, ...); the API maps
 * it to a status with tld_http_status (call.c): -EINVAL 400, -ENOKEY 401,
 * -EACCES 403, -ENOENT 404, -EOPNOTSUPP 405, -EEXIST/-EBUSY/-EDQUOT/
 * -ENOSPC 409, -EAGAIN 503, anything else 500. */
#define ERR(status, ...) (snprintf(msg, msz, __VA_ARGS__), (status))
unsigned tld_http_status(int r);
/* For handlers that answer with a status and msg (fleet_api.c, vmres.c):
 * a domain call's -errno + e as that status and e's message; r >= 0
 * passes through. */
int tld_http_err(int r, const struct tl_error *e, char *msg, size_t msz);

#define TLD_NAME_MAX            63
#define TLD_MAX_NODES           1000000         /* external nodes are cheap; a VM node is not */
#define TLD_TOKEN_LEN           32              /* bytes; hex in the agent's config */
#define TLD_AGENT_ADDR          "10.0.2.100:80" /* where a guest reaches its agent channel */
#define TLD_BODY_MAX            (8u << 20)      /* an agent's evidence (report, attest) */
#define TLD_ADMIN_BODY_MAX      (1u << 20)      /* every other route's body */
#define TLD_INFLIGHT_MAX        (64u << 20) /* all request bodies in flight together (503 beyond) */
#define TLD_IDLE_TIMEOUT        15 /* s: a connection that sends nothing for this long is closed */
#define TLD_API_CONNECTIONS     1024 /* the admin listener's connections at once */
#define TLD_CHANNEL_CONNECTIONS 4    /* one node's agent channel's connections at once */
#define TLD_BOOT_TIMEOUT        240  /* s, TCG boots take 15-25 s; TL_BOOT_TIMEOUT moves it */
/* ms: a vTPM's provisioning (EK keys, certificates, NV) takes a few seconds,
 * a minute on a host loaded with TCG vCPUs; past this its swtpm is killed
 * (vm.c, watchdog.h) and the create fails "timed out" */
#define TLD_PROVISION_TIMEOUT_MS (300 * 1000)

/* deadline.c: the API's connections */
#define TLD_HEADER_DEADLINE    10  /* s: headers, from the connection's start or last request */
#define TLD_BODY_DEADLINE      60  /* s: a request's body, from its headers */
#define TLD_CLIENT_CONNECTIONS 128 /* one client's admin connections at once */

/* egress.c: workload egress */
#define TLD_EGRESS_ADDR        "10.0.2.101:3128" /* a guest's egress proxy, when it has one */
#define TLD_EGRESS_CONNECTIONS 16                /* one node's egress connections at once */
#define TLD_EGRESS_ALLOW_MAX   16                /* entries of an egress allow list */
#define TLD_EGRESS_HEAD        10                /* s: a CONNECT request's head */
#define TLD_EGRESS_CONNECT     10                /* s: reaching the target */
#define TLD_EGRESS_IDLE        300               /* s: a tunnel with no byte either way */

enum tld_state {
    TLD_CREATING,
    TLD_BOOTING, /* QEMU started, the agent has not reported in */
    TLD_RUNNING, /* reported in */
    TLD_STOPPED, /* stopped by a request, or the guest powered off */
    TLD_FAILED,  /* did not boot: a diagnosis says why */
    TLD_CRASHED, /* QEMU or swtpm ended without being asked */
};

struct tld_node_spec {
    bool secure_boot;
    bool vtpm;
    bool vtpm_persist;
    int generation; /* 2 UEFI, 1 BIOS */
    bool external;  /* no VM here: a vTPM and a token for an agent that runs
                     * elsewhere (a host, a test); nothing is supervised */
    /* interned (tld_intern): never NULL, never freed, shared by every node
     * with the same path, so a spec copies by value */
    const char *image;   /* "" for an external node */
    const char *vars;    /* a prepared variable store, "" for the defaults */
    unsigned memory_mib; /* QEMU -m; 0: TL_NODE_MEMORY, else 1024 */
    /* workload egress through its CONNECT proxy (egress.c), and the
     * private ranges it may reach: interned "cidr,cidr", "" none */
    bool egress;
    const char *egress_allow;
    /* confidential VMs (node_security.c; issue 14): static strings, never
     * NULL. security_type "Standard" | "TrustedLaunch" | "ConfidentialVM";
     * tee "none" | "snp" | "tdx" (a confidential size's); disk_security
     * "none" | "VMGuestStateOnly" | "DiskWithVMGuestState" |
     * "NonPersistedTPM" (vtpm_persist false: a fresh vTPM at every boot);
     * guest_state: the encrypted guest-state file (vm.c), on for every
     * ConfidentialVM */
    const char *security_type;
    const char *tee;
    const char *disk_security;
    bool guest_state;
    /* a data disk (datadisk.c): its size in GiB (0: none) and the key vault
     * key the guest encrypts it with, interned "VAULT/KEY" ("" a plain disk) */
    unsigned data_disk_gb;
    const char *data_disk_key;
};
#define TLD_DATADISK_MAX_GB 4096

#define TLD_MAX_FINDINGS       64         /* per attestation: the rest summed up in one */
#define TLD_MAX_ALERT_FINDINGS 512        /* per alert, over its boot's failures */
#define TLD_EVIDENCE_LOG_MAX   (1u << 20) /* a failure's event log kept as base64 up to this */
#define TLD_NONCES             16
#define TLD_NONCE_TTL          120 /* s */
#define TLD_CHALLENGE_TTL      120 /* s */

/* Who vouches for a node's EK (enrol.c, the EK certificate's chain) */
#define TLD_EK_PLATFORM     "platform-vtpm"    /* a vTPM tld provisioned: HOME/ekca */
#define TLD_EK_MANUFACTURER "manufacturer-tpm" /* a TPM maker's root in HOME/ekca/roots */
#define TLD_EK_VOUCHED      "operator-vouched" /* a key an operator handed over: HOME/ekca-vouched */

struct tld_challenge {
    char id[33];
    uint8_t secret[32];
    json_t *ak; /* {"public", "name", "ek_type"} to bind on success */
    long long expires;
};

struct tld_nonce {
    uint8_t value[32];
    long long expires; /* 0: free */
};

/* The latest verified attestation of a node's boot, in C rather than JSON
 * (a node's memory: 48 bytes instead of ~1 KiB of jansson objects). */
struct tld_attested {
    long long id; /* 0: none (a new boot, or never attested) */
    long long at;
    uint64_t clock;
    uint32_t reset_count, restart_count;
    int findings;
    bool pass, secure_boot;
    char component[40]; /* a failure's first failed component ("" none): the
                         * Kubernetes API's attestation condition names it */
};

/* The TPM's counters as far as verified quotes showed them: kept across
 * boots and new AKs (a rolled-back or replayed TPM state goes back), reset
 * only when the node gets a new TPM (a non-persisted vTPM's start, a
 * reimage with a new vTPM). */
struct tld_tpm_seen {
    uint64_t clock;
    uint32_t reset_count, restart_count;
    bool set;
};

/* The enrolled AK (~250 bytes; ~900 as JSON). */
struct tld_ak {
    long long enrolled;    /* unix seconds */
    char ek_type[16];      /* "rsa2048", "ecc-p256" */
    char ek_origin[20];    /* TLD_EK_PLATFORM, _MANUFACTURER, _VOUCHED ("unknown": enrolled
                            * before origins were recorded) */
    char name[2 * 68 + 1]; /* hex of its Name */
    /* its OpenSSL key, built once from public when the AK is enrolled or
     * loaded (tld_ak_from_json) and used for every quote; NULL when it
     * could not be built (each quote then builds it, and is refused for
     * what fails). Shared by reference with attestations in flight
     * (tld_ak_dup); freed by tld_ak_free. */
    EVP_PKEY *key;
    size_t public_len;
    uint8_t public[]; /* its marshalled TPM2B_PUBLIC */
};

/* PCRs 0-7 of the sha256 bank learned from a passing boot (~2.3 KiB as
 * JSON, 272 bytes here). */
struct tld_baseline {
    long long learned;
    uint8_t mask; /* bit i: PCR i learned */
    uint8_t sha256[8][32];
};

struct tld_node {
    char name[TLD_NAME_MAX + 1];
    char uuid[37];
    struct tld_node_spec spec;
    enum tld_state state;
    uint8_t token_sha256[32];    /* the agent's token's (the token itself is only in agent.json) */
    struct tlh_proc qemu, swtpm; /* detached children (tlhost/proc.h) */
    struct tlh_proc paravisor;   /* a confidential node's vTPM relay (vm.c) */
    long long created, started, stopped; /* unix seconds, 0 none */
    unsigned boots;
    char ctrl[108];    /* swtpm's control socket while it runs */
    json_t *diag;      /* boot diagnosis: {"verdict", "phase", "component", "line", ...} */
    json_t *report;    /* the agent's last report, summarised (report.c) */
    json_t *host;      /* host-side vTPM read: {"at", "pcrs", "matches_report"} */
    char *ek;          /* the EKs and their certificates' SHA-256 (provisioning's "eks"), as
                        * compact JSON text: read on enrolment and reports only
                        * (tld_node_ek); a few hundred bytes where a tree took ~2 KiB */
    struct tld_ak *ak; /* the enrolled AK, NULL: none */
    struct tld_attested attestation; /* the latest verified attestation (attest.c) */
    struct tld_tpm_seen tpm_seen;    /* rollback history of its TPM */
    struct tld_baseline *baseline;   /* NULL until learned */
    struct tld_challenge *challenge; /* an enrolment waiting for activation */
    struct tld_nonce *nonces;        /* TLD_NONCES outstanding, single use */
    char reason[256];                /* why the state is what it is ("" when obvious) */
    const char *busy;  /* the operation that holds the node while tld.lock is out for its I/O
                        * (lifecycle.c): NULL, "creating", "starting", ... */
    json_t *ek_issued; /* the EK certificate tld just issued (base64 DER): for the create's
                        * answer only (api.c takes it) */
    struct tld_node *hash_next; /* the name index's chain (node.c) */
    struct tld_pool *pool;      /* the node pool it belongs to (fleet.c), NULL: none */
    json_t *vm;         /* the Microsoft.Compute/virtualMachines resource it backs (vmres.c):
                         * {"resourceGroup", "name", "location", "vmSize", ...}, NULL: none */
    json_t *tee_policy; /* a confidential node's own TEE policy (POST /v1/nodes "tee_policy";
                         * a pool's teePolicy wins), NULL: none */
};

/* reconcile.c: a step's scratch (a pool's nodes, in index order) */
#define TLD_POOL_NODES_MAX 1000
struct tld_reconcile {
    struct tld_node *nodes[TLD_POOL_NODES_MAX];
};

/* lease.c: the reconciler's lease among replicas */
#define TLD_LEASE_TRY_MS     1000
#define TLD_TICKETS_PRUNE_MS 60000
struct tld_lease {
    _Atomic bool held; /* this tld runs the reconciler */
    long long since;   /* unix seconds: held since */
    long long tried_ms, pruned_ms;
};
/* main loop, without tld.lock: the lease tried every TLD_LEASE_TRY_MS */
void tld_lease_tick(struct tld *t);
/* {"reconciler": held, "since"} for GET /v1/health */
json_t *tld_lease_json(const struct tld *t);

/* node.c: interned strings (spec paths), one copy each for tld's life */
struct tld_interned;
struct tld_intern {
    pthread_mutex_t lock;
    struct tld_interned *list;
};

/* attest_tee.c: the hardware evidence verifiers, built once at start;
 * libtl's SNP context is one per thread, so lock serialises its use (CPU
 * only, never with tld.lock held). items: the platform's collateral (the
 * emulated secure processor's roots, its TDX collateral), trusted only by a
 * policy that names them. */
struct tl_snp_ctx;
struct tl_tdx_collateral;
struct tl_tee_blob;
struct tld_tee {
    pthread_mutex_t lock;
    struct tl_snp_ctx *snp;
    struct tl_tdx_collateral *tdx;
    const struct tl_tee_blob *items;
    size_t n_items;
    /* the platform's emulated secure processor (HOME/tee-emul): its
     * collateral (ARK/ASK, the TDX root's chain, CRLs, TCB info, QE
     * identity) read at the first confidential attestation after a node's
     * paravisor made it; trusted only where a policy names its roots */
    char platform_dir[256];
    bool platform_loaded;
    struct tl_tee_blob *all; /* items + the platform's, owned */
    size_t n_all;
};
/* The platform's services to a confidential guest (tee_service.c), without
 * tld.lock: the DER VCEK of node's chip; the TD quote of report (a
 * TDREPORT) when it is the one the node's TDX module made last (-EACCES
 * otherwise). *der, *quote malloc'd. */
int tld_tee_certification(const struct tld *t, const char *node, uint8_t **der, size_t *len,
                          struct tl_error *err);
int tld_tee_tdquote(const char *node_dir, const uint8_t *report, size_t report_len, uint8_t **quote,
                    size_t *quote_len, struct tl_error *err);
/* Where the platform's emulator keeps its collateral (tld: HOME/tee-emul). */
void tld_tee_set_platform(struct tld_tee *tee, const char *dir);
int tld_tee_open(struct tld_tee *tee, const struct tl_tee_blob *items, size_t n,
                 struct tl_error *err);
void tld_tee_close(struct tld_tee *tee);

/* keyvault.c: vaults and their keys (issue 15). lock guards ks, the key
 * store's one PKCS#11 session (opened at first use); vaults and keys (the
 * records: {"name", "created"} by vault name, {"vault", "name", "created",
 * "release_policy"} by "VAULT/KEY") are tld's memory, under tld.lock; the
 * two locks are never held together. */
struct tld_keyvault {
    pthread_mutex_t lock;
    struct tlh_keystore ks;
    bool open;
    json_t *vaults, *keys;  /* under tld.lock */
    long long last_release; /* the release log's last id (ns), under tld.lock */
};
int tld_keyvault_load(struct tld *t); /* after the store opened */
/* The key store's lock taken and the store opened at first use (0), or
 * -EAGAIN "the key store is not available: ..." with the lock let go. Never
 * with tld.lock held. */
int tld_keystore_lock(struct tld *t, struct tl_error *err);
void tld_keystore_unlock(struct tld *t);
void tld_keyvault_free(struct tld *t);
/* Each returns 0 (with *answer where there is one) or -errno with err set:
 * -EINVAL a field (named), -ENOENT no such vault or key, -EEXIST, -EBUSY a
 * vault with keys, -EPERM a download, -EAGAIN no key store. */
int tld_vault_create(struct tld *t, const json_t *req, json_t **answer, struct tl_error *err);
json_t *tld_vault_list(struct tld *t);
int tld_vault_show(struct tld *t, const char *vault, json_t **answer, struct tl_error *err);
int tld_vault_delete(struct tld *t, const char *vault, struct tl_error *err);
int tld_vault_key_create(struct tld *t, const char *vault, const json_t *req, json_t **answer,
                         struct tl_error *err);
int tld_vault_key_show(struct tld *t, const char *vault, const char *name, const char *version,
                       json_t **answer, struct tl_error *err);
int tld_vault_key_list(struct tld *t, const char *vault, const char *name, json_t **answer,
                       struct tl_error *err);
int tld_vault_key_rotate(struct tld *t, const char *vault, const char *name, json_t **answer,
                         struct tl_error *err);
int tld_vault_key_delete(struct tld *t, const char *vault, const char *name, json_t **answer,
                         struct tl_error *err);
int tld_vault_key_download(struct tld *t, const char *vault, const char *name,
                           struct tl_error *err);
/* VAULT/NAME/VERSION (VERSION NULL: the newest) wrapped (tlh_keystore_wrap)
 * to an RSA SPKI; *key the version wrapped. -EPERM: not exportable;
 * -ENOENT: the token has no such version. */
int tld_vault_key_wrap(struct tld *t, const char *vault, const char *name, const char *version,
                       const uint8_t *spki, size_t spki_len, struct tlh_key *key, uint8_t **out,
                       size_t *out_len, struct tl_error *err);
/* 0 when the token holds VAULT/NAME/VERSION; -ENOENT naming the key or
 * "version: ..."; -EINVAL for a malformed name. */
int tld_vault_key_version_known(struct tld *t, const char *vault, const char *name,
                                const char *version, struct tl_error *err);
/* keyrelease.c: POST /v1/nodes/NODE/keys/release (its header says how it
 * decides): 0 with *answer, -EINVAL a field, -ENOENT no such key, -ENOKEY
 * no enrolled AK, -EACCES refused (err: "release refused: CLAUSE: why").
 * Without tld.lock. */
#define TLD_RELEASE_FRESH 300 /* s: the attestation a release follows */
int tld_key_release(struct tld *t, const char *node, const char *auth, const json_t *req,
                    json_t **answer, struct tl_error *err);
/* The release log: one entry ({"vault", "key", ...}) added; a key's entries. */
int tld_vault_release_record(struct tld *t, const json_t *entry);
int tld_vault_key_releases(struct tld *t, const char *vault, const char *name, json_t **answer,
                           struct tl_error *err);

/* metrics.c: GET /metrics in Prometheus's text exposition format 0.0.4
 * (docs/api.md, "Metrics"). The counters are tld's memory under their own
 * mutex (never tld.lock, never held while taking it): they start at 0 with
 * tld, as Prometheus expects of a counter. metrics_state.c reads the gauges
 * (nodes, alerts, pools, the reconciler's work) under tld.lock briefly,
 * copying numbers; the answer is rendered with neither lock held.
 * A label value a guest or a policy chooses (a failed component's name, a
 * release policy's clause) is kept to TLD_METRICS_LABEL_MAX bytes (cut at a
 * UTF-8 character) and to TLD_METRICS_LABELS distinct values per metric;
 * past those, and for "" or "other" itself, it counts as "other": a guest
 * cannot grow the answer or the series' number. */
#define TLD_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define TLD_METRICS_LABELS       32
#define TLD_METRICS_LABEL_MAX    64
#define TLD_METRICS_OTHER        "other"
#define TLD_METRICS_HTTP         256 /* (route, method, code) series; beyond, "other" */
#define TLD_METRICS_BUCKETS      11  /* the attestation latency's bounds (metrics.c), +Inf apart */
struct tld_metric_label {
    char value[TLD_METRICS_LABEL_MAX + 1];
    uint64_t n;
};
struct tld_metric_labels {
    struct tld_metric_label v[TLD_METRICS_LABELS];
    size_t n;
    uint64_t other;
};
struct tld_metric_http {
    const char *route;  /* a routing table's pattern (static), or "unmatched" */
    const char *method; /* tld_metrics_method's (static) */
    unsigned code;
    uint64_t n;
};
struct tld_metrics_counts {
    uint64_t attestations[2]; /* verdict pass, fail */
    struct tld_metric_labels failed_components;
    uint64_t latency[TLD_METRICS_BUCKETS + 1]; /* per bucket, not cumulative; the last: +Inf */
    double latency_sum;                        /* seconds */
    struct tld_metric_labels granted, refused; /* key releases, by deciding clause */
    struct tld_metric_http http[TLD_METRICS_HTTP];
    size_t n_http;
    uint64_t http_other;
};
struct tld_metrics {
    pthread_mutex_t lock;
    struct tld_metrics_counts c;
};
/* What a scrape reads of tld's state (metrics_state.c). */
#define TLD_METRICS_STATES   6 /* enum tld_state */
#define TLD_METRICS_SECURITY 3 /* Standard, TrustedLaunch, ConfidentialVM */
#define TLD_METRICS_PROV     6 /* enum tld_prov */
struct tld_metrics_gauges {
    uint64_t nodes[TLD_METRICS_STATES][TLD_METRICS_SECURITY];
    bool alerts_known; /* the store answered */
    uint64_t alerts_open;
    struct {
        const char *state; /* tld_prov_name's (fleet.c): "Succeeded", ... */
        uint64_t n;
    } pools[TLD_METRICS_PROV];
    uint64_t pending_create, pending_delete, pending_reimage;
    uint64_t starting, starting_limit;
    uint64_t lock_long_holds;
    bool lease; /* this tld holds the reconciler's lease (lease.c) */
};
void tld_metrics_init(struct tld_metrics *m);
/* seconds on CLOCK_MONOTONIC: an attestation's start and end */
double tld_metrics_clock(void);
/* A verdict stored: pass or fail, the failed components (a JSON array of
 * names; NULL none), how long it took from its begin. */
void tld_metrics_attestation(struct tld_metrics *m, bool pass, const json_t *components,
                             double seconds);
/* A key release decided (the release log's entry): granted or refused, by clause. */
void tld_metrics_release(struct tld_metrics *m, bool granted, const char *clause);
/* An HTTP answer sent: route a pattern of the routing table (or
 * "unmatched"), method tld_metrics_method's. */
void tld_metrics_http(struct tld_metrics *m, const char *route, const char *method, unsigned code);
/* A request's method as a label: GET, HEAD, POST, PUT, PATCH, DELETE,
 * OPTIONS, or "other" (a client chooses it). */
const char *tld_metrics_method(const char *method);
/* Pure, for the renderer and its unit test: value counted in l (bounded as
 * above); a label value written to f escaped as the format requires
 * (backslash, double quote, line feed); the whole answer from counts and
 * gauges (*text malloc'd): 0 or -ENOMEM. */
void tld_metrics_label_count(struct tld_metric_labels *l, const char *value);
void tld_metrics_escape(FILE *f, const char *value);
int tld_metrics_render(const struct tld_metrics_counts *c, const struct tld_metrics_gauges *g,
                       char **text, size_t *len);
/* metrics_state.c: the gauges read (tld.lock taken and let go), the
 * counters copied (their mutex), the answer rendered with no lock held. */
void tld_metrics_gauges_read(struct tld *t, struct tld_metrics_gauges *g);
int tld_metrics_scrape(struct tld *t, char **text, size_t *len);

struct tld {
    char home[PATH_MAX];
    char tl_bin[PATH_MAX];    /* tl (--tl, TL_BIN): found at start; nothing runs it now */
    char tld_bin[PATH_MAX];   /* this tld: QEMU runs `tld --relay` per guest connection */
    char token_audience[128]; /* tokens' "aud" unless the request names one: TL_TOKEN_AUDIENCE */
    char ovmf_dir[PATH_MAX];
    char gueststate_open[PATH_MAX]; /* where guest states are opened (gueststate.c) */
    int port;
    time_t started; /* when this tld began to serve (GET /v1/health's uptime) */
    int boot_timeout;
    struct tld_store *store;   /* store.c: the database, its kept statements */
    struct tld_tokens *tokens; /* token.c: the token signing key and its JWK */
    pthread_mutex_t lock;      /* taken with tld_lock, let go with tld_unlock (lock.c) */
    struct {
        long long since_ms;   /* CLOCK_MONOTONIC, when the holder took it */
        const char *who;      /* the holder: a function or a route's pattern */
        unsigned long n_long; /* holds of TLD_LOCK_WARN_MS or more, since start */
    } lock_held;
    struct tld_node **nodes; /* n_nodes of them, room for cap */
    size_t n_nodes, cap;
    struct tld_node **index; /* by name: n_index chains (a power of 2) */
    size_t n_index;
    struct tld_node **vms; /* the nodes with a VM here (not external): the ones the
                            * supervision loop visits every 250 ms */
    size_t n_vms, cap_vms;
    struct tl_ekca *ekca;          /* HOME/ekca, loaded (or created) on first use */
    pthread_mutex_t ekca_lock;     /* ekca: issued from creates, without tld.lock;
                                    * provisions one at a time until ekca_made */
    _Atomic bool ekca_made;        /* a provision made (or found) HOME/ekca */
    struct tld_intern intern;      /* the spec paths, each kept once (node.c) */
    struct tld_fleet *fleet;       /* resource groups, clusters, node pools (fleet.c) */
    char store_roots[8][PATH_MAX]; /* where images and variable stores may come from (hostpath.c) */
    size_t n_store_roots;
    struct tld_capacity capacity;
    struct tld_manifests manifests;
    struct tld_auth auth;
    struct tld_api api;
    struct tld_kube kube;
    struct tld_agentnet agentnet;
    struct tld_reconcile reconcile;
    struct tld_lease lease;
    struct tld_webhook webhook;
    struct tld_retention retention;
    struct tld_egress egress;
    struct tld_deadline deadline;
    struct tld_tee tee;
    struct tld_keyvault keyvault;
    struct tld_metrics metrics;
    volatile int quit;
};

/* log.c: logging to tld.log (stderr before the daemon detaches), the clock, state names */
__attribute__((format(printf, 1, 2))) void tld_log(const char *fmt, ...);

/* lock.c: tld.lock with its holder named and its holds timed; one of
 * TLD_LOCK_WARN_MS or more is logged ("tld.lock held N ms by WHO") once
 * let go. */
#define TLD_LOCK_WARN_MS 1000
void tld_lock_at(struct tld *t, const char *who);
/* notify.c: "READY=1", "STOPPING=1" to systemd ($NOTIFY_SOCKET); 0 when unset. */
int tld_notify(const char *state);
void tld_unlock(struct tld *t);
#define tld_lock(t) tld_lock_at((t), __func__)
long long tld_now(void);
const char *tld_state_name(enum tld_state s);
int tld_state_parse(const char *s, enum tld_state *out);

/* store.c: documents, attestations, alerts; nothing of nodes */
struct tld_store_pending;
int tld_store_open(struct tld *t);
void tld_store_close(struct tld *t);
/* nodestore.c: a node as its document of kind "node" (node.c's codec) */
int tld_store_save(struct tld *t, const struct tld_node *n);
int tld_store_delete(struct tld *t, const char *name);
/* n's document and an attestation's record joined to the group commit */
int tld_store_node_join(struct tld *t, const struct tld_node *n, long long id, const char *verdict,
                        const json_t *record, struct tld_store_pending **out);
int tld_store_load(struct tld *t); /* every stored node into the table */
/* One transaction around several writes (under tld.lock); a failed commit
 * is rolled back (-EIO). */
int tld_store_begin(struct tld *t);
int tld_store_commit(struct tld *t);
void tld_store_rollback(struct tld *t);
/* *id > 0: the record's id (tld_store_attestation_next_id, in the same
 * transaction under tld.lock); 0: the next one. */
int tld_store_attestation_add(struct tld *t, const char *node, const char *verdict, json_t *doc,
                              long long *id);
/* The id the next attestation will get (AUTOINCREMENT's sequence + 1). */
int tld_store_attestation_next_id(struct tld *t, long long *id);
/* node NULL: all; uuid (may be NULL) narrows them to one node identity */
json_t *tld_store_attestations(struct tld *t, const char *node, const char *uuid, int limit);
json_t *tld_store_attestation_get(struct tld *t, long long id);
/* One alert per node identity (uuid) and boot: the stored one (a new
 * reference, with *id and *acked) or NULL; written back by put (*id 0:
 * a new one; reopen: acknowledged no more). */
json_t *tld_store_alert_find(struct tld *t, const char *node, const char *uuid, const char *boot,
                             long long *id, bool *acked);
int tld_store_alert_put(struct tld *t, const char *node, const char *boot, const json_t *doc,
                        long long *id, bool reopen);
json_t *tld_store_alerts(struct tld *t, const char *node, const char *uuid, bool all);
json_t *tld_store_alert_get(struct tld *t, long long id);
int tld_store_alert_ack(struct tld *t, long long id);
/* The alerts not acknowledged (GET /metrics): 0 with *n, or -EIO. */
int tld_store_alerts_open(struct tld *t, uint64_t *n);
/* Documents: one JSON object per (kind, id) (nodes, fleet.c's groups,
 * clusters and pools, feature.c, auth.c's tokens). */
int tld_store_resource_put(struct tld *t, const char *kind, const char *id, const json_t *doc);
int tld_store_resource_delete(struct tld *t, const char *kind, const char *id);
/* every document of kind in id order (a NULL doc: not a JSON object);
 * stops at the first negative return of each, and returns it */
int tld_store_resource_each(struct tld *t, const char *kind,
                            int (*each)(void *ctx, const char *id, json_t *doc), void *ctx);
json_t *tld_store_resources(struct tld *t, const char *kind);
/* Group commit (store.c): a passing attestation's record (and a document
 * written with it: the node's) queued under tld.lock with an id from
 * tld_store_group_id, then, after tld.lock is let go, waited for until the
 * transaction holding it committed (0) or failed (-EIO); the answer is
 * sent only then. Every other store call first lets the queue be written.
 * stats: batches committed and the attestations in them, since open. */
int tld_store_group_id(struct tld *t, long long *id);
int tld_store_group_join(struct tld *t, long long id, const char *node, const char *verdict,
                         const json_t *record, const char *kind, const char *doc_id,
                         const json_t *doc, struct tld_store_pending **out);
int tld_store_group_wait(struct tld *t, struct tld_store_pending *p);
/* +1 when an attestation's work is done and it goes for tld.lock to
 * finish, -1 once it let go: the first waiter lingers briefly for them */
void tld_store_group_coming(struct tld *t, int delta);
void tld_store_group_stats(struct tld *t, uint64_t *batches, uint64_t *grouped);
/* Retention: another connection to the store tld_store_open opened (the
 * same TL_STORE or TL_HOME/tld.db; no migration), for a thread that works
 * without tld.lock; and on it, the attestations of every node with one of
 * id > after pruned to its newest keep (>= 1) plus every failure (whose
 * record holds its evidence). *upto: the newest id seen (the next call's
 * after); *deleted grows by the rows deleted. Transactions of a few nodes
 * each: a failure leaves what was committed before it. */
int tld_store_open_other(const char *home, struct tld_store **out);
void tld_store_close_other(struct tld_store *s);
int tld_store_prune(struct tld_store *s, long long after, int keep, long long *upto,
                    uint64_t *deleted);
/* Replicas (docs/scale.md, "Replicas"): true when the store is one several
 * tlds share (PostgreSQL). Then a node's record is read from the store on
 * each call for it (tld_store_node_sync), nonces and enrolment challenges
 * are tickets in the store, and one tld at a time holds the reconciler's
 * lease. */
bool tld_store_shared(const struct tld *t);
/* one document (-ENOENT none, -EOPNOTSUPP not a shared store); for_update:
 * its row locked until the transaction ends */
int tld_store_resource_get(struct tld *t, const char *kind, const char *id, bool for_update,
                           json_t **doc);
/* store.h's tickets: take gives 0 (data malloc'd or NULL) exactly once */
int tld_store_ticket_put(struct tld *t, const char *kind, const char *value, const char *node,
                         long long expires, const char *data);
int tld_store_ticket_take(struct tld *t, const char *kind, const char *value, const char *node,
                          char **data);
int tld_store_tickets_prune(struct tld *t, long long before);
/* the reconciler's lease: 1 this tld holds it (always, alone on SQLite), 0
 * another does, -EIO */
int tld_store_lease_try(struct tld *t);
/* nodestore.c: the node's record as the store has it now (a shared store:
 * another tld may have changed it): the table's node refreshed, or added
 * when another tld created it; NULL when the store has none (-ENOENT in
 * *r) or could not say. A store of one tld: the table's node. for_update:
 * its row locked until the transaction ends. */
struct tld_node *tld_store_node_sync(struct tld *t, const char *name, bool for_update, int *r);

/* token.c: ES256 JWTs and the JWKS */
int tld_token_init(struct tld *t);
void tld_token_free(struct tld *t);
json_t *tld_token_jwks(const struct tld *t);
char *tld_token_sign(const struct tld *t, json_t *claims);

/* policy.c: findings of a boot against the node's image and policy */
struct tl_eventlog;
struct tl_boot_state;
/* manifest: the node's image's (tld_manifest_get), NULL with why in
 * manifest_error; pure: no I/O */
json_t *tld_policy_evaluate(const struct tld_node *n, const struct tld_manifest *manifest,
                            const char *manifest_error, const struct tl_eventlog *log,
                            const struct tl_boot_state *bs);

/* webhook.c: alerts POSTed to $TL_ALERT_WEBHOOK, retried in the background */
void tld_webhook_start(struct tld_webhook *w);
void tld_webhook_post(struct tld_webhook *w, json_t *alert);
void tld_webhook_stop(struct tld_webhook *w);

/* retention.c: the pruning thread (TL_ATTEST_KEEP=0: none); 0 or -errno */
int tld_retention_start(struct tld_retention *rt, const char *home);
void tld_retention_stop(struct tld_retention *rt);

/* node.c: each returns 0, or an HTTP status (400/404/409/500) with msg set */
struct tld_node *tld_node_find(struct tld *t, const char *name);
/* Adds n to the table and the name index (-ENOSPC at TLD_MAX_NODES, -ENOMEM);
 * tld_node_remove takes it out of both (it does not free it). */
int tld_node_add(struct tld *t, struct tld_node *n);
void tld_node_remove(struct tld *t, struct tld_node *n);
void tld_nodes_free(struct tld *t);
/* One copy of s for the life of tld (spec paths); NULL only when out of memory. */
const char *tld_intern(struct tld *t, const char *s);
void tld_intern_free(struct tld *t); /* at the end: every interned string goes */
/* lifecycle.c: called with tld.lock held, returned with it held, but the
 * lock is OUT during each operation's I/O while the node is claimed
 * (n->busy): a caller must not hold pointers into the node table or the
 * fleet across the call (other threads change them meanwhile), except to
 * this node. A busy node gets -EBUSY (409). A pool's node is created with its
 * pool. Each returns 0 or -errno with err set. */
int tld_node_create(struct tld *t, const json_t *req, struct tld_pool *pool, struct tld_node **out,
                    struct tl_error *err);
int tld_node_start(struct tld *t, struct tld_node *n, struct tl_error *err);
int tld_node_stop(struct tld *t, struct tld_node *n, struct tl_error *err);
int tld_node_reimage(struct tld *t, struct tld_node *n, const json_t *req, struct tl_error *err);
int tld_node_delete(struct tld *t, struct tld_node *n, struct tl_error *err);
/* a stopped (or failed) node's files and vTPM made anew for spec, not booted */
int tld_node_respec(struct tld *t, struct tld_node *n, const struct tld_node_spec *spec,
                    struct tl_error *err);
/* After QEMU ended without being asked: reads the vTPM, stops swtpm,
 * sets the state from how QEMU ended and what the console says. */
void tld_node_ended(struct tld *t, struct tld_node *n, int wstatus, bool status_known);
/* The supervision loop's verdicts: a boot that failed (QEMU killed, the
 * vTPM read and stopped), a swtpm that ended under a running QEMU, and
 * the console of a booting node read (tld_diagnosis) without the lock and
 * without claiming it: the node as it is after, NULL when it is gone or
 * no longer this boot. */
void tld_node_fail_boot(struct tld *t, struct tld_node *n, const char *why);
void tld_node_lost_vtpm(struct tld *t, struct tld_node *n);
/* A stopped node's guest state left open by a tld that ended while the
 * node ran (kill -9): sealed back (tld_readopt). */
void tld_node_reseal(struct tld *t, struct tld_node *n);
struct tld_node *tld_node_diagnose_boot(struct tld *t, struct tld_node *n);
json_t *tld_node_json(const struct tld *t, const struct tld_node *n);
/* node_security.c: a node's security type, TEE, disk security and guest
 * state (struct tld_node_spec); parse after secure_boot / vtpm /
 * vtpm_persist (400 with msg); the four keys into obj; read back from a
 * store document's spec (absent keys: derived as an earlier tld had them) */
int tld_node_security_parse(const json_t *req, struct tld_node_spec *spec, struct tl_error *err);
/* The request's "tee_policy" (a tl_tee_policy_parse object; a confidential
 * spec's only): *out a new reference, NULL when absent; 400 with msg. */
int tld_node_tee_policy_parse(const json_t *req, const struct tld_node_spec *spec, json_t **out,
                              struct tl_error *err);
void tld_node_security_json(const struct tld_node_spec *spec, json_t *obj);
void tld_node_security_from_json(const json_t *obj, struct tld_node_spec *spec);
bool tld_node_confidential(const struct tld_node *n);
/* datadisk.c: a node's data disk. parse: "data_disk_size_gb" and
 * "data_disk_encryption_key" of a create request (400 with msg; the
 * syntax, no lock needed); check_key (under tld.lock): the key exists;
 * json / from_json:
 * the two keys of a spec; make: the sparse file (without the lock, kept
 * when there); qemu_args: -drive, -device and -fw_cfg values, empty when
 * the node has none (-ENAMETOOLONG, -EINVAL a comma in a path) */
int tld_datadisk_parse(struct tld *t, const json_t *req, const char *size_key, const char *key_key,
                       struct tld_node_spec *spec, struct tl_error *err);
int tld_datadisk_check_key(struct tld *t, const struct tld_node_spec *spec, struct tl_error *err);
void tld_datadisk_json(const struct tld_node_spec *spec, json_t *obj);
void tld_datadisk_from_json(struct tld *t, const json_t *obj, struct tld_node_spec *spec);
int tld_datadisk_path(const struct tld *t, const struct tld_node *n, char *out, size_t size);
int tld_datadisk_make(struct tld *t, struct tld_node *n, struct tl_error *err);
int tld_datadisk_qemu_args(const struct tld *t, const struct tld_node *n, char *drive,
                           size_t drive_size, char *device, size_t device_size, char *cfg,
                           size_t cfg_size);
/* Who vouches for its EK: TLD_EK_PLATFORM, _MANUFACTURER, _VOUCHED, "none" */
const char *tld_node_ek_origin(const struct tld_node *n);
/* The store's form: everything, secrets and pids included. */
json_t *tld_node_doc(const struct tld_node *n);
int tld_node_from_doc(struct tld *t, const json_t *doc, struct tld_node **out);
void tld_node_free(struct tld_node *n);
/* The node's EK records as JSON (a new reference, NULL: none); set from
 * JSON (NULL clears). */
json_t *tld_node_ek(const struct tld_node *n);
int tld_node_set_ek(struct tld_node *n, const json_t *ek);
int tld_node_path(const struct tld *t, const struct tld_node *n, const char *file, char *out,
                  size_t size);
/* HOME/run/NAME+suffix; HOME/keys/NAME.vtpm.key */
void tld_node_run_path(const struct tld *t, const struct tld_node *n, const char *suffix, char *out,
                       size_t size);
void tld_node_key_path(const struct tld *t, const struct tld_node *n, char *out, size_t size);
bool tld_name_ok(const char *s);

/* vtpmread.c: PCRs 0-23 of every bank of the swtpm behind ctrl, which no
 * QEMU holds any more: {"sha1": {"0": hex...}, "sha256": {...}} */
int tld_vtpm_read_pcrs(const char *ctrl, json_t **out, char *msg, size_t msz);
/* CMD_SHUTDOWN on the control channel: swtpm saves its state and exits. */
int tld_vtpm_shutdown(const char *ctrl);

/* report.c: the agent's POST, in two halves: prepare (pure: the body
 * parsed, the event log decoded, replayed and its Secure Boot read;
 * without tld.lock) and accept (under it: the node's token, state and
 * policy against what was prepared); each returns 0 or -errno with err
 * set. */
struct tld_report_pre {
    json_t *r;        /* the body */
    bool eventlog_ok; /* present and base64 */
    size_t eventlog_bytes;
    int logged;     /* Secure Boot as the log measured it: 1, 0, -1 unknown */
    json_t *replay; /* the log replayed against the PCRs sent, NULL: none sent */
};
int tld_report_prepare(const char *body, size_t len, struct tld_report_pre *pre,
                       struct tl_error *err);
int tld_report_accept(struct tld *t, struct tld_node *n, const char *auth,
                      const struct tld_report_pre *pre, struct tl_error *err);
void tld_report_pre_done(struct tld_report_pre *pre);
/* Does the replay of the last report's event log equal these PCRs? */
json_t *tld_report_compare_host(const struct tld_node *n, const json_t *pcrs);

/* attest.c: what an agent call needs of the node, whatever the action
 * (its token, booting or running, a vTPM, a JSON object); 0 or a status */
int tld_attest_agent_checks(const struct tld_node *n, const char *action, const char *auth,
                            const json_t *req, struct tl_error *err);
/* attest.c: the attestation service's agent endpoints (enroll, activate,
 * nonce, attest); req is the parsed body (NULL when it is not a JSON
 * object: -EINVAL); returns 0 (200 with *answer) or -errno with err set */
int tld_attest_handle(struct tld *t, struct tld_node *n, const char *action, const char *auth,
                      json_t *req, json_t **answer, struct tl_error *err);
/* attest, split so that its pure work runs outside tld.lock (api.c):
 * begin and finish under the lock, work without; each returns 0 or
 * -errno with err set; the job is freed by tld_attest_job_free. */
struct tld_attest_job;
int tld_attest_begin(struct tld_node *n, const char *auth, json_t *req, struct tld_attest_job **job,
                     struct tl_error *err);
int tld_attest_work(struct tld *t, struct tld_attest_job *job, struct tl_error *err);
/* Without tld.lock, before finish: what the policy needs from files (the
 * image's manifest). */
void tld_attest_prefetch(struct tld *t, struct tld_attest_job *job);
/* pending (may be NULL: everything committed before finish returns):
 * set when the attestation joined the store's group commit; the caller
 * lets go of tld.lock, then answers only once tld_store_group_wait says 0. */
int tld_attest_finish(struct tld *t, struct tld_attest_job *job, const char *auth, json_t **answer,
                      struct tld_store_pending **pending, struct tl_error *err);
void tld_attest_job_free(struct tld_attest_job *job);
/* attest_state.c */
/* The policy a node is held to: its image's reference values (m, parsed
 * once and cached: tld_manifest_get, without the lock; NULL: none), its
 * learned baseline, its rules. Pure. */
struct tl_manifest;
json_t *tld_attest_policy(struct tld_node *n, const struct tl_manifest *m);
int tld_attest_learn(struct tld *t, struct tld_node *n, struct tl_error *err);
/* A new boot: no attestation proves anything yet (labels off). */
void tld_attest_reset(struct tld_node *n);
json_t *tld_attest_labels(const struct tld_node *n);
/* attest_codec.c: the node's "attestation" and "baseline" as JSON (null
 * when none), and back from the store's form. */
json_t *tld_attest_summary_json(const struct tld_node *n);
void tld_attest_summary_from_json(struct tld_node *n, const json_t *j);
json_t *tld_baseline_json(const struct tld_baseline *b);
/* {"public", "name", "ek_type", "enrolled"} (null when none), and back. */
json_t *tld_ak_json(const struct tld_ak *ak);
struct tld_ak *tld_ak_from_json(const json_t *j);
/* A copy that shares the key (a reference), and the free of either. */
struct tld_ak *tld_ak_dup(const struct tld_ak *ak);
void tld_ak_free(struct tld_ak *ak);
struct tld_baseline *tld_baseline_from_json(const json_t *j);
bool tld_token_ok(const struct tld_node *n, const char *auth);

/* ekca.c: the platform EK CA (HOME/ekca, as tl vtpm provision keeps it)
 * certifying an EK that is not in a vTPM of ours: an external node's own
 * TPM, or a software key standing in for one. ek_public is a marshalled
 * TPM2B_PUBLIC from the default RSA-2048 or ECC P-256 EK template. On
 * success *ek is the node's EK record ({"type", "ek_sha256", "certificate":
 * {"sha256", "size", ...}}, as provisioning records them) and *der the
 * certificate; returns 0 or -errno with err set. */
int tld_ekca_issue(struct tld *t, const char *node, const uint8_t *ek_public, size_t len,
                   json_t **ek, uint8_t **der, size_t *der_len, struct tl_error *err);
void tld_ekca_close(struct tld *t);

/* fleet.c: resource groups, managed clusters and their node pools, the
 * AKS model (docs/api.md "Clusters and node pools"); reconcile.c drives
 * each pool's nodes to what the pool asks for. */
enum tld_prov {
    TLD_PROV_SUCCEEDED,
    TLD_PROV_CREATING,
    TLD_PROV_UPDATING,
    TLD_PROV_SCALING,
    TLD_PROV_DELETING,
    TLD_PROV_FAILED,
};

struct tld_cluster {
    char group[91], name[64], location[64], k8s_version[24];
    char token[2 * TLD_TOKEN_LEN + 1]; /* the credentials tl aks get-credentials stores */
    char *ssh_key;                     /* the admin's public key, NULL: none */
    bool managed_identity, virtual_node;
    enum tld_prov prov;
    char error[512];
    long long created;
};

struct tld_pool {
    struct tld_cluster *cluster;
    char name[16], id8[9]; /* nodes are aks-NAME-ID8-vmssNNNNNN */
    /* what the pool asks for */
    char vm_size[48], os_type[16], os_sku[32], mode[8], k8s_version[24], vm_set_type[32],
        os_disk_type[16];
    const char *image; /* interned directory */
    long count;
    bool secure_boot, vtpm, fips, skip_gpu;
    bool egress;              /* enableWorkloadEgress: its nodes' spec.egress */
    const char *egress_allow; /* workloadEgressAllowedCidrs, interned (egress.c) */
    /* dataDiskSizeGB / dataDiskEncryptionKey: its nodes' data disk (datadisk.c) */
    unsigned data_disk_gb;
    const char *data_disk_key; /* interned "VAULT/KEY", "" none */
    int image_generation;
    char image_os[48]; /* the image's OS ("Debian 12"), its nodes' os-sku label; "" unknown */
    /* where it is */
    enum tld_prov prov;
    char error[512];
    char action[16]; /* "create", "update", "scale", "delete"; "" none */
    int op_done, op_total, op_retries;
    char op_node[TLD_NAME_MAX + 1], op_phase[48];
    long long op_since; /* when op_node's current phase began */
    unsigned next_index;
    struct tld_baseline *baseline[2]; /* learned PCRs 0-7, per Secure Boot off/on */
    json_t *rules;                    /* the pool's explicit policy rules (policy.c), NULL: none */
};

int tld_fleet_load(struct tld *t); /* after the nodes: links them to their pools */
void tld_fleet_free(struct tld *t);
/* /v1/resourceGroups..., /v1/managedClusters, /v1/providers...: an HTTP
 * status (200/201/202 with *answer) or an error status with msg set.
 * Under tld.lock. A request that needs an image read first (a pool update
 * turning Secure Boot on: will its image boot under OVMF's Microsoft
 * keys?) answers TLD_FLEET_CHECK_IMAGE with ic naming the image and the
 * pool: the caller runs tld_fleet_image_check without the lock and routes
 * the request again with ic done. ic NULL: the check runs inline. */
#define TLD_FLEET_CHECK_IMAGE 102 /* not an HTTP answer: check ic's image first */
struct tld_image_check {
    char image[PATH_MAX];
    char pool[TLD_NAME_MAX + 1];
    bool done;
    int status; /* 0: it boots; 409 with msg: it would not */
    char msg[1024];
};
int tld_fleet_route(struct tld *t, const char *method, const char *url, const json_t *body,
                    struct tld_image_check *ic, json_t **answer, char *msg, size_t msz);
/* Reads ic->image's ESP and judges it (host library + libtl): without
 * tld.lock. Sets ic->done, ic->status and ic->msg. */
void tld_fleet_image_check(struct tld *t, struct tld_image_check *ic);
int tld_pool_save(struct tld *t, struct tld_pool *p);
int tld_cluster_save(struct tld *t, struct tld_cluster *c);
struct tld_pool **tld_fleet_pools(struct tld *t, size_t *n);
void tld_fleet_remove_pool(struct tld *t, struct tld_pool *p);
void tld_fleet_remove_cluster(struct tld *t, struct tld_cluster *c);
const char *tld_prov_name(enum tld_prov p);
/* A pool node's Kubernetes labels (agentpool, instance type, os, ...). */
void tld_pool_node_labels(const struct tld_node *n, json_t *labels);
/* Where a node's learned baseline lives: its pool's (per Secure Boot
 * setting) for a pool node, else its own. */
struct tld_baseline **tld_baseline_slot(struct tld_node *n);
/* "aks-POOL-ID8-vmssNNNNNN" */
void tld_pool_node_name(const struct tld_pool *p, unsigned index, char *out, size_t size);
bool tld_pool_owns(const struct tld_pool *p, const char *node);

/* policy.c: a pool's explicit rules, checked and normalised from a request
 * ({"kernelCmdline", "allowedKernels", "requiredDbx", "requireSecureBoot"});
 * 0 or 400 with msg set. */
int tld_policy_rules_parse(const json_t *req, json_t **rules, char *msg, size_t msz);

/* feature.c: feature flags and resource providers (recorded and shown):
 * 0 with *answer (200), or -errno with err set (-EOPNOTSUPP: the method is
 * not the resource's, err names the one it takes). */
int tld_feature_route(struct tld *t, const char *method, const char *url, json_t **answer,
                      struct tl_error *err);

/* reconcile.c: one step for every pool (every 250 ms, under tld.lock) */
void tld_reconcile_once(struct tld *t);

/* reconcile_plan.c: the reconciler's decisions, pure. Is the node what its
 * pool wants and proven so (running; attested when it has a vTPM)? */
/* the vTPM a pool's nodes get: the pool's, and always on a confidential size */
bool tld_pool_node_vtpm(const struct tld_pool *p);
bool tld_pool_node_ready(const struct tld_pool *p, const struct tld_node *n);
/* Do its Secure Boot, vTPM or image differ from the pool's (an update)? */
bool tld_pool_node_drifted(const struct tld_pool *p, const struct tld_node *n);
struct tld_reconcile_plan {
    size_t deletes; /* the newest nodes to delete (a scale-down) */
    size_t creates; /* nodes to create in this step */
};
/* A pool asking for count nodes with present of them, starting of the
 * host's nodes booting and at most bound at once: a scale-down deletes the
 * excess; missing nodes are created up to the bound and
 * TLD_POOL_NODES_MAX, the rest on a later step. */
void tld_reconcile_plan(long count, size_t present, unsigned starting, unsigned bound,
                        struct tld_reconcile_plan *out);
/* The index of the first drifted node of nodes (index order) that no
 * operation holds, -1: none. */
long tld_reconcile_next_drifted(const struct tld_pool *p, struct tld_node *const *nodes, size_t n);

/* vm.c */
int tld_image_generation(const struct tld *t, const char *image, int *gen, char *os, size_t os_size,
                         struct tl_error *err);

/* agentbody.c: an agent call's body as a JSON object (NULL: not one);
 * equal to json_loadb(JSON_REJECT_DUPLICATES) of it, faster for a large
 * base64 "eventlog" member. */
json_t *tld_agent_body_parse(const char *b, size_t len);

/* supervise.c */
void tld_supervise_once(struct tld *t);
void tld_readopt(struct tld *t);
/* diag.c: the console of n's boot read and judged, as a new diagnosis (an
 * earlier one's engine verdict kept): reads files, may run the image
 * check; n is read for its name and spec only. tld_diagnose sets n->diag. */
json_t *tld_diagnosis(struct tld *t, struct tld_node *n, const json_t *old);
void tld_diagnose(struct tld *t, struct tld_node *n);

/* api.c */
int tld_api_start(struct tld *t, const char *listen_addr, int *port);
void tld_api_stop(struct tld *t);
/* The routing table, a line per route: "METHOD PATTERN ROLE,ROLE" (tld --routes). */
void tld_api_routes_print(FILE *f);
/* addrfile.c: HOME/FILE ("tld.addr", "kube.addr"): the port the last tld
 * wrote there for scheme (-ENOENT, -EINVAL), and this one's written */
int tld_addr_previous(const struct tld *t, const char *file, const char *scheme);
int tld_addr_write(const struct tld *t, const char *file, const char *scheme, int port);
/* kube_cert.c: HOME/kube's CA and server certificate (127.0.0.1,
 * localhost), made at the first start; 0 or -errno with err set */
int tld_kube_cert_load(struct tld *t, struct tl_error *err);
void tld_kube_cert_free(struct tld *t);
/* kube_api.c: the Kubernetes API's listener on 127.0.0.1:port (0: any;
 * the one before, from HOME/kube.addr, when free); writes HOME/kube.addr */
int tld_kube_start(struct tld *t, struct tl_error *err);
void tld_kube_stop(struct tld *t);
/* kube_node.c: a node as a core/v1 Node (under tld.lock); its labels as
 * the Node has them (a new object) */
json_t *tld_kube_node(const struct tld *t, const struct tld_node *n);
json_t *tld_kube_node_labels(const struct tld_node *n);
/* its metadata.resourceVersion: changes when its object may have */
void tld_kube_node_version(const struct tld_node *n, char out[32]);

/* auth.c */
const char *tld_role_name(enum tld_role r);
int tld_auth_init(struct tld *t); /* after the store: makes HOME/operator.token once */
void tld_auth_free(struct tld *t);
/* Authorization header → caller: 0 (operator or an API token's role),
 * -ENOENT no header, -EINVAL not a bearer credential, -EACCES unknown. */
int tld_auth_caller(struct tld *t, const char *authz, struct tld_caller *out);
json_t *tld_auth_tokens(struct tld *t);
int tld_auth_token_create(struct tld *t, const json_t *req, json_t **answer, struct tl_error *err);
int tld_auth_token_delete(struct tld *t, const char *name, struct tl_error *err);
void tld_secret_hash(const char *secret, size_t len, uint8_t out[32]);
int tld_secret_new(char out[2 * TLD_TOKEN_LEN + 1]);
bool tld_bearer_hash(const char *authz, uint8_t out[32]);

/* hostpath.c: host paths a request names, only from the platform's stores */
#define TLD_DISK_MAX     (256ll << 30)
#define TLD_MANIFEST_MAX (4 << 20)
#define TLD_VARS_MAX     (16 << 20)
int tld_hostpath_init(struct tld *t);
/* given → its real path in out, or -EINVAL naming the rule */
int tld_hostpath_resolve(const struct tld *t, const char *what, const char *given, char *out,
                         size_t size, struct tl_error *err);
/* A regular file (no symlink, FIFO or device) of at most max bytes: *fd, or -EINVAL. */
int tld_hostpath_open(const struct tld *t, const char *path, off_t max, int *fd, off_t *size,
                      struct tl_error *err);

/* capacity.c */
void tld_capacity_init(struct tld *t);
/* May pool p (NULL: a new one) run count nodes of vm_size? 0, or
 * -EDQUOT (a quota; ARM's QuotaExceeded text in msg) or -ENOSPC (the
 * host; AllocationFailed): the API answers either with 409. */
int tld_capacity_admit(struct tld *t, const struct tld_pool *p, const char *vm_size, long count,
                       char *msg, size_t msz);
/* May one VM of vm_size (in location) be added, the VM node except (a
 * resize: its old size) not counted? As tld_capacity_admit. */
int tld_capacity_admit_vm(struct tld *t, const struct tld_node *except, const char *vm_size,
                          const char *location, char *msg, size_t msz);
/* The VM nodes creating or booting now (the reconciler starts more only
 * below capacity.concurrent_creates: tld_reconcile_plan). */
unsigned tld_capacity_starting(const struct tld *t);

/* agentnet.c */
int tld_agentnet_start(struct tld *t);
void tld_agentnet_stop(struct tld *t);
int tld_agentnet_path(const struct tld *t, const char *node, char *out, size_t size);
int tld_agentnet_egress_path(const struct tld *t, const char *node, char *out, size_t size);
/* n's agent channel, and its egress channel when n->spec.egress */
int tld_agentnet_open(struct tld *t, const struct tld_node *n);
void tld_agentnet_close(struct tld *t, const char *node);  /* both channels */
void tld_agentnet_closed(struct tld *t, const char *node); /* one connection fewer */
void tld_agentnet_egress_closed(struct tld *t, const char *node);
int tld_relay_main(const char *path);
/* `tld --paravisor LISTEN SWTPM_CTRL NODE_DIR` (paravisor.c) */
int tld_paravisor_main(int argc, char **argv);

/* deadline.c: MHD's connection notifications (code: enum
 * MHD_ConnectionNotificationCode), the handler's progress (first: its first
 * call, the headers are in; body_done: a later call with no more data),
 * NOTIFY_COMPLETED (request_done) */
struct MHD_Connection;
int tld_deadline_start(struct tld *t);
void tld_deadline_stop(struct tld *t);
void tld_deadline_notify(struct tld *t, struct MHD_Connection *c, void **socket_context, int code);
void tld_deadline_request(struct tld *t, struct MHD_Connection *c, bool first, bool body_done);
void tld_deadline_request_done(struct tld *t, struct MHD_Connection *c);

/* egress.c */
void tld_egress_init(struct tld *t);
/* Serves one connection of node's egress channel on a thread of its own;
 * closes fd on failure. */
int tld_egress_serve(struct tld *t, int fd, const char *node, const char *allow);
struct sockaddr;
/* NULL: sa may be reached by a node with this allow list; else why not. */
const char *tld_egress_judge(const struct sockaddr *sa, const char *allow);
/* A JSON array of CIDRs (or null/absent: none) → interned "cidr,cidr";
 * -EINVAL naming field and the entry. */
int tld_egress_allow_parse(struct tld *t, const json_t *v, const char *field, const char **out,
                           struct tl_error *err);
json_t *tld_egress_allow_json(const char *allow);
