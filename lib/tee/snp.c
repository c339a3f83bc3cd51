/* SEV-SNP verification: a report, its VCEK or VLEK, AMD's pinned roots,
 * the caller's policy and time -> a verdict with every reason (tl/snp.h
 * lists the checks and their sources).
 *
 * Fail closed: a report whose version is not 2, 3 or 5 stops at `version`
 * (its fields' meaning is unknown); a report without a usable certificate
 * stops at `collateral` after the checks that need no key; everything else
 * runs and records each failure. Nothing read from the report is trusted
 * before its signature is checked, but every check runs either way so the
 * verdict names all that is wrong. */
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <stdint.h>
#include <string.h>

#include "snp_internal.h"
#include "tl/util.h"

/* ECDSA P-384 over SHA-384 of the signed bytes; R and S little-endian in
 * 72-byte fields (ABI Table 137, ECDSA P-384 signature). The verify
 * context is initialised once per certificate and kept in the cache: in
 * OpenSSL 3 setting one up costs about as much as the verification. */
static bool report_signature_ok(struct tl_snp_ctx *ctx, const uint8_t *report,
                                const struct tl_snp_report *r, struct snp_cert *cert)
{
    if (!cert->verify) {
        cert->verify = EVP_PKEY_CTX_new_from_pkey(NULL, cert->pub, NULL);
        if (!cert->verify || EVP_PKEY_verify_init(cert->verify) != 1 ||
            EVP_PKEY_CTX_set_signature_md(cert->verify, ctx->sha384) != 1) {
            EVP_PKEY_CTX_free(cert->verify);
            cert->verify = NULL;
            ERR_clear_error();
            return false;
        }
    }
    uint8_t be_r[72], be_s[72];
    for (int i = 0; i < 72; i++) {
        be_r[i] = r->sig_r[71 - i];
        be_s[i] = r->sig_s[71 - i];
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    bool ok = false;
    ECDSA_SIG *sig = ECDSA_SIG_new();
    BIGNUM *bn_r = BN_bin2bn(be_r, 72, NULL), *bn_s = BN_bin2bn(be_s, 72, NULL);
    unsigned char der[160], *p = der;
    int der_len = -1;
    if (sig && bn_r && bn_s && ECDSA_SIG_set0(sig, bn_r, bn_s) == 1) {
        bn_r = bn_s = NULL; /* owned by sig */
        if (i2d_ECDSA_SIG(sig, NULL) <= (int)sizeof(der))
            der_len = i2d_ECDSA_SIG(sig, &p);
    }
    if (der_len > 0 && EVP_Digest(report, TL_SNP_SIGNED_SIZE, md, &md_len, ctx->sha384, NULL) == 1)
        ok = EVP_PKEY_verify(cert->verify, der, (size_t)der_len, md, md_len) == 1;
    BN_free(bn_r);
    BN_free(bn_s);
    ECDSA_SIG_free(sig);
    ERR_clear_error();
    return ok;
}

/* The certificate's TCB_VERSION in product's layout; false (missing names
 * the SPL) when a needed SPL is absent. */
static bool cert_tcb(const struct snp_cert *c, enum tl_snp_product product, uint64_t *out,
                     const char **missing)
{
    static const char *const names[SNP_SPL_MAX] = {
        [1] = "blSPL", [2] = "teeSPL", [3] = "snpSPL", [8] = "ucodeSPL", [9] = "fmcSPL"};
    /* byte i of the TCB_VERSION comes from SPL extension map[i] */
    static const int milan[8] = {1, 2, 4, 5, 6, 7, 3, 8};
    static const int turin[8] = {9, 1, 2, 3, 5, 6, 7, 8}; /* no SPL 4 on Turin */
    const int *map = product == TL_SNP_PRODUCT_TURIN ? turin : milan;
    uint64_t tcb = 0;
    for (int i = 0; i < 8; i++) {
        int spl = map[i];
        if (!c->spl_present[spl]) {
            if (names[spl]) {
                *missing = names[spl];
                return false;
            }
            continue; /* reserved SPLs default to 0 */
        }
        tcb |= (uint64_t)c->spl[spl] << (8 * i);
    }
    *out = tcb;
    return true;
}

static void tcb_text(uint64_t raw, enum tl_snp_product p, char *buf, size_t size)
{
    struct tl_snp_tcb t = tl_snp_tcb_decode(raw, p);
    if (p == TL_SNP_PRODUCT_TURIN)
        snprintf(buf, size, "fmc %u bootloader %u tee %u snp %u microcode %u", t.fmc, t.bootloader,
                 t.tee, t.snp, t.microcode);
    else
        snprintf(buf, size, "bootloader %u tee %u snp %u microcode %u", t.bootloader, t.tee, t.snp,
                 t.microcode);
}

/* a <= b in every component */
static bool tcb_le(uint64_t a, uint64_t b, enum tl_snp_product p)
{
    struct tl_snp_tcb x = tl_snp_tcb_decode(a, p), y = tl_snp_tcb_decode(b, p);
    return x.bootloader <= y.bootloader && x.tee <= y.tee && x.snp <= y.snp &&
           x.microcode <= y.microcode && x.fmc <= y.fmc;
}

static bool tcb_at_least(uint64_t raw, enum tl_snp_product p, const struct tl_tee_snp_tcb_min *m)
{
    struct tl_snp_tcb t = tl_snp_tcb_decode(raw, p);
    return t.bootloader >= m->bootloader && t.tee >= m->tee && t.snp >= m->snp &&
           t.microcode >= m->microcode && (p != TL_SNP_PRODUCT_TURIN || t.fmc >= m->fmc);
}

static void window(struct tl_tee_verdict *v, const char *what, time_t nb, time_t na)
{
    if (nb != (time_t)-1 && na != (time_t)-1 && v->at >= nb && v->at <= na)
        return;
    char a[32], b[32], at[32];
    tl_tee_time_format(nb, a, sizeof(a));
    tl_tee_time_format(na, b, sizeof(b));
    tl_tee_time_format(v->at, at, sizeof(at));
    tl_tee_fail(v, TL_TEE_EXPIRED, "%s is valid from %s to %s, not at %s", what, a, b, at);
}

/* The endorsement certificate: the caller's, else the collateral's
 * VCEK/VLEK of the right kind whose hwID is this chip's (or the first). */
static int find_cert(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                     const struct tl_snp_report *r, struct snp_cert **out, struct tl_error *err)
{
    *out = NULL;
    if (ev->cert)
        return snp_cert_get(ctx, ev->cert, ev->cert_len, out, err);
    const struct tl_tee_collateral *col = ev->collateral;
    size_t first = SIZE_MAX; /* a candidate of the right kind, not this chip's */
    for (size_t i = 0; col && i < col->n; i++) {
        bool endorsement;
        int root, role;
        if (!snp_cert_classify(ctx, col->items[i].data, col->items[i].len, &endorsement, &root,
                               &role) ||
            !endorsement)
            continue;
        struct snp_cert *c;
        if (snp_cert_get(ctx, col->items[i].data, col->items[i].len, &c, err) < 0)
            continue;
        if (c->is_vlek != (r->signing_key == 1))
            continue;
        if (c->is_vlek || (c->hwid_len && memcmp(c->hwid, r->chip_id, c->hwid_len) == 0)) {
            *out = c;
            return 0;
        }
        if (first == SIZE_MAX)
            first = i;
    }
    /* fetched again: later certificates may have taken its cache slot */
    if (first != SIZE_MAX)
        return snp_cert_get(ctx, col->items[first].data, col->items[first].len, out, err);
    return tl_error_set_nopos(err, -ENOENT, "no %s given (--vcek or in the collateral)",
                              r->signing_key == 1 ? "VLEK" : "VCEK");
}

/* A signer (ASK/ASVK) the caller supplied as the chain: must be a pinned
 * one. Returns the count found (the last wins), its root and role. */
static int supplied_signer(struct tl_snp_ctx *ctx, const struct tl_tee_collateral *col, int *root,
                           int *role)
{
    int found = 0;
    for (size_t i = 0; col && i < col->n; i++) {
        bool endorsement;
        int ri, ro;
        if (snp_cert_classify(ctx, col->items[i].data, col->items[i].len, &endorsement, &ri, &ro) &&
            ri >= 0 && ro >= 0) {
            *root = ri;
            *role = ro;
            found++;
        }
    }
    return found;
}

/* The certificate chains to no AMD root: an ARK/ASK of the collateral
 * that is not AMD's and that the policy trusts (an emulated secure
 * processor's) makes the chain good and the verdict "emulated"; one the
 * policy does not name is `root-untrusted`. true when such a chain was
 * found (the reason, if any, recorded). */
static bool foreign_chain(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                          const struct snp_cert *cert, const struct tl_tee_policy *pol,
                          struct tl_tee_verdict *v)
{
    struct snp_foreign_chain fc;
    const char *kind = cert->is_vlek ? "VLEK" : "VCEK";
    if (!snp_cert_foreign_chain(ctx, ev->collateral, cert, &fc))
        return false;
    if (tl_tee_policy_trusts_root(pol, TL_TEE_ROOT_SNP_ARK, fc.ark_sha256)) {
        v->emulated = true;
    } else {
        char hex[65];
        tl_hex_encode(fc.ark_sha256, 32, hex);
        tl_tee_fail(v, TL_TEE_ROOT_UNTRUSTED,
                    "%s chains to ARK \"%s\" (sha256 %s), which is not AMD's and which the "
                    "policy's trusted-roots do not name",
                    kind, fc.ark_cn, hex);
    }
    window(v, "ARK (not AMD's)", fc.ark_not_before, fc.ark_not_after);
    window(v, "ASK (not AMD's)", fc.ask_not_before, fc.ask_not_after);
    window(v, kind, cert->not_before, cert->not_after);
    return true;
}

static void check_chain(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                        struct snp_cert *cert, enum tl_snp_product product,
                        const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    const char *kind = cert->is_vlek ? "VLEK" : "VCEK";
    const char *d;
    if (product != TL_SNP_PRODUCT_UNKNOWN &&
        !snp_cert_chains(ctx, cert, (int)product - 1, cert->is_vlek ? SNP_ROLE_ASVK : SNP_ROLE_ASK,
                         &d) &&
        foreign_chain(ctx, ev, cert, pol, v))
        return;
    if (product == TL_SNP_PRODUCT_UNKNOWN) {
        tl_tee_fail(v, TL_TEE_CHAIN, "%s: product unknown (productName \"%s\"): no AMD root", kind,
                    cert->product_name);
        return;
    }
    int root = (int)product - 1;
    enum snp_role role = cert->is_vlek ? SNP_ROLE_ASVK : SNP_ROLE_ASK;
    int s_root, s_role;
    if (supplied_signer(ctx, ev->collateral, &s_root, &s_role) > 0) {
        /* the caller named the chain: it must be the one this cert needs */
        if (s_root != root || s_role != (int)role) {
            tl_tee_fail(v, TL_TEE_CHAIN,
                        "%s checked against the AMD %s %s (%s root), not the %s %s", kind,
                        tl_amd_roots[s_root].product, s_role == SNP_ROLE_ASK ? "ASK" : "ASVK",
                        s_role == SNP_ROLE_ASK ? "VCEK" : "VLEK", tl_amd_roots[root].product,
                        role == SNP_ROLE_ASK ? "ASK" : "ASVK");
            root = s_root;
            role = (enum snp_role)s_role;
        }
    }
    const char *detail;
    if (!snp_cert_chains(ctx, cert, root, role, &detail))
        tl_tee_fail(v, TL_TEE_CHAIN, "%s is not signed by the AMD %s %s: %s", kind,
                    tl_amd_roots[root].product, role == SNP_ROLE_ASK ? "ASK" : "ASVK", detail);
    struct snp_root *rt = &ctx->roots[root];
    char what[64];
    snprintf(what, sizeof(what), "ARK-%s", tl_amd_roots[root].product);
    window(v, what, rt->ark_not_before, rt->ark_not_after);
    snprintf(what, sizeof(what), "%s-%s", role == SNP_ROLE_ASK ? "ASK" : "ASVK",
             tl_amd_roots[root].product);
    window(v, what, rt->signer_not_before[role], rt->signer_not_after[role]);
    window(v, kind, cert->not_before, cert->not_after);
    const struct tl_tee_collateral *col = ev->collateral;
    for (size_t i = 0; col && i < col->n; i++)
        snp_crl_check(ctx, col->items[i].data, col->items[i].len, root, role, v);
}

static void check_tcb(const struct tl_snp_report *r, const struct snp_cert *cert,
                      enum tl_snp_product p, const struct tl_tee_policy *pol,
                      struct tl_tee_verdict *v)
{
    char a[96], b[96];
    if (cert) {
        uint64_t ct;
        const char *missing = NULL;
        if (!cert_tcb(cert, p, &ct, &missing)) {
            tl_tee_fail(v, TL_TEE_TCB_MISMATCH, "the %s has no %s extension",
                        cert->is_vlek ? "VLEK" : "VCEK", missing);
        } else if (ct != r->reported_tcb) {
            tcb_text(r->reported_tcb, p, a, sizeof(a));
            tcb_text(ct, p, b, sizeof(b));
            tl_tee_fail(v, TL_TEE_TCB_MISMATCH, "REPORTED_TCB (%s) is not the %s's (%s)", a,
                        cert->is_vlek ? "VLEK" : "VCEK", b);
        }
    }
    if (!tcb_le(r->committed_tcb, r->current_tcb, p)) {
        tcb_text(r->committed_tcb, p, a, sizeof(a));
        tcb_text(r->current_tcb, p, b, sizeof(b));
        tl_tee_fail(v, TL_TEE_TCB_LEVEL, "COMMITTED_TCB (%s) above CURRENT_TCB (%s)", a, b);
    }
    if (!tcb_le(r->reported_tcb, r->current_tcb, p)) {
        tcb_text(r->reported_tcb, p, a, sizeof(a));
        tcb_text(r->current_tcb, p, b, sizeof(b));
        tl_tee_fail(v, TL_TEE_TCB_LEVEL, "REPORTED_TCB (%s) above CURRENT_TCB (%s)", a, b);
    }
    if (!pol->allow_provisional_firmware &&
        (r->committed_tcb != r->current_tcb || r->committed_major != r->current_major ||
         r->committed_minor != r->current_minor || r->committed_build != r->current_build))
        tl_tee_fail(v, TL_TEE_TCB_LEVEL,
                    "provisional firmware: committed %u.%u.%u / TCB 0x%016llx, current %u.%u.%u "
                    "/ TCB 0x%016llx",
                    r->committed_major, r->committed_minor, r->committed_build,
                    (unsigned long long)r->committed_tcb, r->current_major, r->current_minor,
                    r->current_build, (unsigned long long)r->current_tcb);
    const struct tl_tee_snp_tcb_min *m = &pol->snp_min_tcb;
    if (m->set) {
        if (!tcb_at_least(r->reported_tcb, p, m)) {
            tcb_text(r->reported_tcb, p, a, sizeof(a));
            tl_tee_fail(v, TL_TEE_TCB_LEVEL, "REPORTED_TCB (%s) below the policy's minimum", a);
        }
        if (!tcb_at_least(r->launch_tcb, p, m)) {
            tcb_text(r->launch_tcb, p, a, sizeof(a));
            tl_tee_fail(v, TL_TEE_TCB_LEVEL, "LAUNCH_TCB (%s) below the policy's minimum", a);
        }
    }
}

static void check_guest_policy(const struct tl_snp_report *r, const struct tl_tee_policy *pol,
                               struct tl_tee_verdict *v)
{
    uint64_t gp = r->policy;
    if (!(gp & TL_SNP_POLICY_RESERVED_1))
        tl_tee_fail(v, TL_TEE_POLICY, "guest policy 0x%llx: reserved bit 17 is not 1",
                    (unsigned long long)gp);
    if (gp & ~TL_SNP_POLICY_KNOWN_MASK)
        tl_tee_fail(v, TL_TEE_POLICY, "guest policy 0x%llx: reserved bits 26-63 are set",
                    (unsigned long long)gp);
    if ((gp & TL_SNP_POLICY_DEBUG) && !pol->allow_debug)
        tl_tee_fail(v, TL_TEE_DEBUG, "guest policy 0x%llx allows debugging (bit 19)",
                    (unsigned long long)gp);
    if ((gp & TL_SNP_POLICY_MIGRATE_MA) && !pol->allow_migration_agent)
        tl_tee_fail(v, TL_TEE_MIGRATION_AGENT,
                    "guest policy 0x%llx allows a migration agent (bit 18)",
                    (unsigned long long)gp);
    if ((gp & TL_SNP_POLICY_SMT) && !pol->allow_smt)
        tl_tee_fail(v, TL_TEE_SMT, "guest policy 0x%llx allows SMT (bit 16)",
                    (unsigned long long)gp);
    unsigned fw = (unsigned)r->current_major << 8 | r->current_minor;
    unsigned need = (unsigned)(gp & 0xffff);
    if (fw < need)
        tl_tee_fail(v, TL_TEE_ABI, "firmware ABI %u.%u is below the guest policy's %u.%u",
                    r->current_major, r->current_minor, need >> 8, need & 0xff);
    if (pol->snp_min_abi_set &&
        fw < ((unsigned)pol->snp_min_abi_major << 8 | pol->snp_min_abi_minor))
        tl_tee_fail(v, TL_TEE_ABI, "firmware ABI %u.%u is below the policy's %u.%u",
                    r->current_major, r->current_minor, pol->snp_min_abi_major,
                    pol->snp_min_abi_minor);
    if (r->vmpl > 3 || !(pol->vmpl_mask & (1u << r->vmpl)))
        tl_tee_fail(v, TL_TEE_VMPL, "VMPL %u is not allowed (allowed mask 0x%x)", r->vmpl,
                    pol->vmpl_mask);
    if (r->guest_svn < pol->min_guest_svn)
        tl_tee_fail(v, TL_TEE_SVN, "GUEST_SVN %u is below the policy's %u", r->guest_svn,
                    pol->min_guest_svn);
}

static void check_pins(const struct tl_snp_report *r, const struct tl_tee_policy *pol,
                       struct tl_tee_verdict *v)
{
    if (!tl_tee_pin_matches(&pol->measurement, r->measurement, 48))
        tl_tee_fail(v, TL_TEE_MEASUREMENT, "MEASUREMENT is not the pinned value");
    if (!tl_tee_pin_matches(&pol->host_data, r->host_data, 32))
        tl_tee_fail(v, TL_TEE_HOST_DATA, "HOST_DATA is not the pinned value");
    if (!tl_tee_pin_matches(&pol->report_data, r->report_data, 64))
        tl_tee_fail(v, TL_TEE_REPORT_DATA, "REPORT_DATA is not the pinned value");
    if (!tl_tee_pin_matches(&pol->id_key_digest, r->id_key_digest, 48))
        tl_tee_fail(v, TL_TEE_ID_KEY, "ID_KEY_DIGEST is not the pinned value");
    if (!tl_tee_pin_matches(&pol->author_key_digest, r->author_key_digest, 48))
        tl_tee_fail(v, TL_TEE_AUTHOR_KEY, "AUTHOR_KEY_DIGEST is not the pinned value");
}

int tl_snp_check(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                 const struct tl_tee_policy *pol, struct tl_tee_verdict *v, json_t *claims)
{
    struct tl_snp_report r;
    struct tl_error e = {0};
    if (tl_snp_report_parse(ev->report, ev->report_len, &r, &e) < 0) {
        tl_tee_fail(v, TL_TEE_MALFORMED, "%s", e.message);
        return 0;
    }
    if (r.version != 2 && r.version != 3 && r.version != 5) {
        tl_tee_fail(v, TL_TEE_VERSION, "SEV-SNP report version %u (2, 3 and 5 are understood)",
                    r.version);
        return 0;
    }
    if (r.signature_algo != 1)
        tl_tee_fail(v, TL_TEE_SIGNATURE, "SIGNATURE_ALGO %u is not ECDSA P-384 with SHA-384 (1)",
                    r.signature_algo);
    if (!tl_is_zero(ev->report + TL_SNP_SIGNED_SIZE + 144,
                    TL_SNP_REPORT_SIZE - TL_SNP_SIGNED_SIZE - 144))
        tl_tee_fail(v, TL_TEE_SIGNATURE, "the signature's reserved bytes are not zero");
    if (r.signing_key > 1)
        tl_tee_fail(v, TL_TEE_SIGNATURE,
                    "SIGNING_KEY %u: the report is not signed by a VCEK or "
                    "VLEK",
                    r.signing_key);

    struct snp_cert *cert = NULL;
    enum tl_snp_product product = tl_snp_report_product(&r);
    if (r.signing_key <= 1) {
        int rc = find_cert(ctx, ev, &r, &cert, &e);
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0)
            tl_tee_fail(v, rc == -ENOENT ? TL_TEE_COLLATERAL : TL_TEE_CHAIN, "%s", e.message);
    }
    if (cert) {
        if (cert->is_vlek != (r.signing_key == 1))
            tl_tee_fail(v, TL_TEE_CHAIN, "the report is signed by a %s, the certificate is a %s",
                        r.signing_key == 1 ? "VLEK" : "VCEK", cert->is_vlek ? "VLEK" : "VCEK");
        if (product != TL_SNP_PRODUCT_UNKNOWN && cert->product != TL_SNP_PRODUCT_UNKNOWN &&
            product != cert->product)
            tl_tee_fail(v, TL_TEE_CHAIN, "the report's CPUID names %s, the %s is for %s",
                        tl_snp_product_name(product), cert->is_vlek ? "VLEK" : "VCEK",
                        tl_snp_product_name(cert->product));
        if (product == TL_SNP_PRODUCT_UNKNOWN)
            product = cert->product;
        check_chain(ctx, ev, cert, product, pol, v);
        if (!report_signature_ok(ctx, ev->report, &r, cert))
            tl_tee_fail(v, TL_TEE_SIGNATURE,
                        "the report's ECDSA P-384 signature does not verify with the %s",
                        cert->is_vlek ? "VLEK" : "VCEK");
        if (!cert->is_vlek && !r.mask_chip_id) {
            size_t n = product == TL_SNP_PRODUCT_TURIN ? 8 : 64;
            if (cert->hwid_len != n || memcmp(cert->hwid, r.chip_id, n) != 0)
                tl_tee_fail(v, TL_TEE_CHIP_ID, "CHIP_ID is not the VCEK's hwID");
        }
        if (cert->csp_id[0])
            tl_tee_claim_str(claims, "x-ms-sevsnpvm-vlek-csp-id", cert->csp_id);
    }
    check_tcb(&r, cert, product, pol, v);
    check_guest_policy(&r, pol, v);
    check_pins(&r, pol, v);
    if (pol->nonce.set) {
        uint8_t want[64] = {0};
        memcpy(want, pol->nonce.v, pol->nonce.len < 64 ? pol->nonce.len : 64);
        if (pol->nonce.len > 64 || memcmp(want, r.report_data, 64) != 0)
            tl_tee_fail(v, TL_TEE_NONCE, "REPORT_DATA is not the nonce (followed by zeros)");
    }
    tl_snp_report_claims_product(&r, product, claims);
    return 0;
}

int tl_snp_verify(struct tl_snp_ctx *ctx, const struct tl_snp_evidence *ev,
                  const struct tl_tee_policy *pol, struct tl_tee_verdict *v)
{
    tl_tee_claim_str(v->claims, "x-ms-attestation-type", "sevsnpvm");
    int r = tl_snp_check(ctx, ev, pol, v, v->claims);
    tl_tee_verdict_finish(v);
    return r;
}
