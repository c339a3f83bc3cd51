/* The event log walker (TCG PC Client PFP 1.05 rev 23, sections 10.2-10.4).
 *
 * One pass over the log produces one tl_event per record. Invariants kept:
 *  - every field is read only after the bytes it occupies are known to be in
 *    the buffer; all arithmetic is on size_t after checking the remainder;
 *  - in a crypto-agile log every digest's algorithm is one the Spec ID event
 *    declared, appears at most once per record, and has the declared size;
 *  - the log ends exactly at the end of the buffer, or is followed only by
 *    zero bytes (the kernel hands out its securityfs copy padded like that);
 *  - the work is linear in the input: one pass over the records, the zero
 *    padding found once from the end (asking "is the rest zero?" at every
 *    record made a log of all-zero SHA-1 records quadratic: 1.3 MB, 43 s);
 *  - a log stays within the caps of eventlog.h (bytes, records, bytes per
 *    record), which a guest cannot raise.
 * Anything else is -EBADMSG with the record index and offset; a log beyond a
 * cap is -E2BIG naming the cap. */
#include "tl/eventlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tl/digest.h"
#include "tl/util.h"

#define SHA1_SIZE 20
/* TCG_PCR_EVENT: PCRIndex, EventType, Digest[20], EventSize */
#define PCR_EVENT_HEADER (4 + 4 + SHA1_SIZE + 4)
/* TCG_EfiSpecIdEvent fixed part: Signature[16], platformClass, 4 x u8,
 * numberOfAlgorithms */
#define SPEC_ID_FIXED (16 + 4 + 4 + 4)
/* The spec bounds a single record only by 32-bit sizes; we bound it by the
 * input, and cap the number of algorithms to keep records fixed-size. */

static const char spec_id_03[16] = "Spec ID Event03";
static const char startup_locality_sig[16] = "StartupLocality";

struct walker {
    const uint8_t *buf;
    size_t len;
    size_t off;
    size_t zero_from; /* buf[zero_from..len) are zero bytes, buf[zero_from - 1] is not */
    struct tl_eventlog *log;
    struct tl_error *err;
    size_t capacity;
    bool cc; /* a CC event log (tl_eventlog_parse_cc) */
};

static int walker_push(struct walker *w, const struct tl_event *ev)
{
    struct tl_eventlog *log = w->log;
    if (log->n_events == w->capacity) {
        size_t cap = w->capacity ? w->capacity * 2 : 64;
        struct tl_event *n = realloc(log->events, cap * sizeof(*n));
        if (!n)
            return tl_error_set(w->err, -ENOMEM, ev->offset, "out of memory");
        log->events = n;
        w->capacity = cap;
    }
    log->events[log->n_events++] = *ev;
    return 0;
}

static bool rest_is_zero(const struct walker *w)
{
    return w->off >= w->zero_from;
}

/* A record's data beyond TL_EVENTLOG_MAX_EVENT_DATA is refused before it is
 * looked at (after the check that it is in the log at all: a size past the
 * end is malformed, one within it but too large is a cap). */
static int check_data_size(struct walker *w, uint32_t index, size_t field_off, uint32_t data_size)
{
    if (data_size > TL_EVENTLOG_MAX_EVENT_DATA)
        return tl_error_set(w->err, -E2BIG, field_off,
                            "event %u: event size %u exceeds the cap of %u bytes per record "
                            "(TL_EVENTLOG_MAX_EVENT_DATA)",
                            index, data_size, TL_EVENTLOG_MAX_EVENT_DATA);
    return 0;
}

/* Padding after the last record: zero bytes; in a CC log also the 0xFF of
 * a log area nothing has written yet. */
static bool rest_is_padding(const struct walker *w)
{
    if (rest_is_zero(w))
        return true;
    if (!w->cc)
        return false;
    for (size_t i = w->off; i < w->len; i++)
        if (w->buf[i] != 0xff)
            return false;
    return true;
}

/* Reads a TCG_PCR_EVENT (SHA-1 format) at w->off. */
static int read_pcr_event(struct walker *w, uint32_t index, struct tl_event *ev)
{
    size_t off = w->off, rem = w->len - off;
    if (rem < PCR_EVENT_HEADER)
        return tl_error_set(w->err, -EBADMSG, off, "event %u: header needs %d bytes, %zu left",
                            index, PCR_EVENT_HEADER, rem);
    const uint8_t *p = w->buf + off;
    uint32_t data_size = tl_le32(p + 28);
    if (data_size > rem - PCR_EVENT_HEADER)
        return tl_error_set(w->err, -EBADMSG, off + 28,
                            "event %u: event size %u overruns the log (%zu bytes left)", index,
                            data_size, rem - PCR_EVENT_HEADER);
    int r = check_data_size(w, index, off + 28, data_size);
    if (r < 0)
        return r;
    *ev = (struct tl_event){
        .index = index,
        .pcr = tl_le32(p),
        .type = tl_le32(p + 4),
        .offset = (uint32_t)off,
        .size = (uint32_t)(PCR_EVENT_HEADER + data_size),
        .data_offset = (uint32_t)(off + PCR_EVENT_HEADER),
        .data_size = data_size,
    };
    ev->digest_offset[0] = 8;
    w->off = off + PCR_EVENT_HEADER + data_size;
    return 0;
}

/* TCG_EfiSpecIdEvent (PFP 10.4.5.1), the data of the first record. */
static int parse_spec_id(struct walker *w, const struct tl_event *ev)
{
    struct tl_eventlog *log = w->log;
    const uint8_t *d = w->buf + ev->data_offset;
    size_t n = ev->data_size, base = ev->data_offset;

    if (n < SPEC_ID_FIXED)
        return tl_error_set(w->err, -EBADMSG, base, "Spec ID event: %zu bytes, needs at least %d",
                            n, SPEC_ID_FIXED);
    log->spec_id = (struct tl_spec_id){
        .platform_class = tl_le32(d + 16),
        .version_minor = d[20],
        .version_major = d[21],
        .errata = d[22],
        .uintn_size = d[23],
    };
    uint32_t n_algs = tl_le32(d + 24);
    if (n_algs == 0 || n_algs > TL_EVENTLOG_MAX_BANKS)
        return tl_error_set(w->err, -EBADMSG, base + 24,
                            "Spec ID event: numberOfAlgorithms %u out of range 1..%d", n_algs,
                            TL_EVENTLOG_MAX_BANKS);
    size_t pos = SPEC_ID_FIXED;
    if (n - pos < (size_t)n_algs * 4 + 1)
        return tl_error_set(w->err, -EBADMSG, base + pos,
                            "Spec ID event: %u algorithms do not fit in %zu bytes", n_algs, n);
    for (uint32_t i = 0; i < n_algs; i++, pos += 4) {
        uint16_t alg = tl_le16(d + pos), size = tl_le16(d + pos + 2);
        size_t known = tl_alg_digest_size(alg);
        if (known && known != size)
            return tl_error_set(w->err, -EBADMSG, base + pos,
                                "Spec ID event: %s declared with digest size %u, must be %zu",
                                tl_alg_name(alg), size, known);
        if (size == 0 || size > TL_DIGEST_MAX)
            return tl_error_set(w->err, -EBADMSG, base + pos,
                                "Spec ID event: algorithm 0x%04x digest size %u out of range", alg,
                                size);
        for (uint32_t j = 0; j < i; j++)
            if (log->banks[j].alg == alg)
                return tl_error_set(w->err, -EBADMSG, base + pos,
                                    "Spec ID event: algorithm 0x%04x listed twice", alg);
        log->banks[i] = (struct tl_bank){.alg = alg, .size = size};
    }
    log->n_banks = n_algs;
    uint8_t vendor_size = d[pos];
    pos++;
    log->spec_id.vendor_info_offset = (uint32_t)(base + pos);
    log->spec_id.vendor_info_size = vendor_size;
    if (n - pos == vendor_size)
        return 0;
    /* Some producers (tpm2-tools' specid-vendordata fixture among them) leave
     * vendorInfo out of EventSize. The record is not extended anywhere, so
     * accept vendorInfo that continues right after the record when it is in
     * the log, and say so; anything else is malformed. */
    if (n - pos < vendor_size && w->len - w->off >= vendor_size - (n - pos)) {
        size_t extra = vendor_size - (n - pos);
        w->off += extra;
        log->spec_id.vendor_info_outside_event = true;
        return (int)extra;
    }
    return tl_error_set(w->err, -EBADMSG, base + pos - 1,
                        "Spec ID event: vendorInfoSize %u but %zu bytes follow", vendor_size,
                        n - pos);
}

/* Reads a TCG_PCR_EVENT2 (PFP 10.2.2) at w->off. */
static int read_pcr_event2(struct walker *w, uint32_t index, struct tl_event *ev)
{
    const struct tl_eventlog *log = w->log;
    size_t start = w->off, off = start;

    if (w->len - off < 12)
        return tl_error_set(w->err, -EBADMSG, off, "event %u: header needs 12 bytes, %zu left",
                            index, w->len - off);
    *ev = (struct tl_event){
        .index = index,
        .pcr = tl_le32(w->buf + off),
        .type = tl_le32(w->buf + off + 4),
        .offset = (uint32_t)off,
    };
    uint32_t count = tl_le32(w->buf + off + 8);
    /* PFP 10.2.2: one digest per active bank; a record with none would be
     * a way to carry data that no PCR accounts for. */
    if (count == 0)
        return tl_error_set(w->err, -EBADMSG, off + 8, "event %u: digest count 0", index);
    if (count > log->n_banks)
        return tl_error_set(w->err, -EBADMSG, off + 8,
                            "event %u: digest count %u exceeds the header's %u", index, count,
                            log->n_banks);
    off += 12;
    for (uint32_t i = 0; i < count; i++) {
        if (w->len - off < 2)
            return tl_error_set(w->err, -EBADMSG, off, "event %u: digest %u truncated", index, i);
        uint16_t alg = tl_le16(w->buf + off);
        int bank = tl_eventlog_bank_index(log, alg);
        if (bank < 0)
            return tl_error_set(w->err, -EBADMSG, off,
                                "event %u: digest %u uses algorithm 0x%04x the header does not "
                                "declare",
                                index, i, alg);
        if (ev->digest_offset[bank])
            return tl_error_set(w->err, -EBADMSG, off, "event %u: two %s digests", index,
                                tl_alg_name(alg) ? tl_alg_name(alg) : "same-algorithm");
        off += 2;
        if (w->len - off < log->banks[bank].size)
            return tl_error_set(w->err, -EBADMSG, off,
                                "event %u: %u-byte digest overruns the log (%zu bytes left)", index,
                                log->banks[bank].size, w->len - off);
        ev->digest_offset[bank] = (uint16_t)(off - start);
        off += log->banks[bank].size;
    }
    if (w->len - off < 4)
        return tl_error_set(w->err, -EBADMSG, off, "event %u: event size field truncated", index);
    uint32_t data_size = tl_le32(w->buf + off);
    off += 4;
    if (data_size > w->len - off)
        return tl_error_set(w->err, -EBADMSG, off - 4,
                            "event %u: event size %u overruns the log (%zu bytes left)", index,
                            data_size, w->len - off);
    int r = check_data_size(w, index, off - 4, data_size);
    if (r < 0)
        return r;
    ev->data_offset = (uint32_t)off;
    ev->data_size = data_size;
    ev->size = (uint32_t)(off + data_size - start);
    w->off = off + data_size;
    return 0;
}

/* StartupLocality event (PFP 10.4.5.3): EV_NO_ACTION in PCR 0 whose data is
 * "StartupLocality\0" and one byte. It sets PCR 0's initial value. */
static int note_startup_locality(struct walker *w, const struct tl_event *ev)
{
    const uint8_t *d = w->buf + ev->data_offset;
    if (ev->type != TL_EV_NO_ACTION || ev->data_size < 16 ||
        memcmp(d, startup_locality_sig, 16) != 0)
        return 0;
    if (ev->data_size != 17)
        return tl_error_set(w->err, -EBADMSG, ev->offset,
                            "event %u: StartupLocality event has %u bytes of data, must be 17",
                            ev->index, ev->data_size);
    if (ev->pcr != 0)
        return tl_error_set(w->err, -EBADMSG, ev->offset,
                            "event %u: StartupLocality event in PCR %u, must be PCR 0", ev->index,
                            ev->pcr);
    if (w->log->startup_locality >= 0)
        return tl_error_set(w->err, -EBADMSG, ev->offset,
                            "event %u: a second StartupLocality event", ev->index);
    /* PFP 10.4.5.3: 0 or 3 (H-CRTM at locality 4 also logs 4). */
    uint8_t loc = d[16];
    if (loc != 0 && loc != 3 && loc != 4)
        return tl_error_set(w->err, -EBADMSG, ev->data_offset + 16,
                            "event %u: StartupLocality %u is not 0, 3 or 4", ev->index, loc);
    w->log->startup_locality = loc;
    return 0;
}

/* Every record that extends a PCR must name one that exists (replay indexes
 * by it); EV_NO_ACTION extends nothing and may carry any index. */
static int check_pcr_index(struct walker *w, const struct tl_event *ev)
{
    if (ev->pcr >= TL_PCR_COUNT && ev->type != TL_EV_NO_ACTION)
        return tl_error_set(w->err, -EBADMSG, ev->offset, "event %u: PCR index %u out of range",
                            ev->index, ev->pcr);
    return 0;
}

static int eventlog_walk(struct walker *w)
{
    struct tl_eventlog *log = w->log;
    struct tl_event ev;
    int r;

    if (w->len == 0)
        return tl_error_set(w->err, -EBADMSG, 0, "empty event log");
    if (rest_is_zero(w))
        return tl_error_set(w->err, -EBADMSG, 0, "event log holds only zero bytes");

    r = read_pcr_event(w, 0, &ev);
    if (r < 0)
        return r;
    const uint8_t *d = w->buf + ev.data_offset;
    if (ev.type == TL_EV_NO_ACTION && ev.data_size >= 16 && memcmp(d, spec_id_03, 16) == 0) {
        /* PFP 10.4.5.1: the Spec ID event is in PCR 0 with a zero digest
         * (a CC log's firmware may write MR index 1 there instead). */
        if ((ev.pcr != 0 && !(w->cc && ev.pcr == 1)) ||
            !tl_is_zero(w->buf + ev.offset + 8, SHA1_SIZE))
            return tl_error_set(w->err, -EBADMSG, 0,
                                "Spec ID event must be in PCR 0 with a zero digest");
        log->format = TL_EVENTLOG_CRYPTO_AGILE;
        r = parse_spec_id(w, &ev);
        if (r < 0)
            return r;
        ev.data_size += (uint32_t)r;
        ev.size += (uint32_t)r;
        ev.digest_offset[0] = 0; /* the header's SHA-1 field is not a bank */
    } else if (w->cc) {
        return tl_error_set(w->err, -EBADMSG, 0,
                            "a CC event log must begin with the Spec ID event (crypto-agile)");
    } else {
        log->format = TL_EVENTLOG_SHA1;
        log->n_banks = 1;
        log->banks[0] = (struct tl_bank){.alg = TL_ALG_SHA1, .size = SHA1_SIZE};
        r = check_pcr_index(w, &ev);
        if (r < 0)
            return r;
    }
    r = walker_push(w, &ev);
    if (r < 0)
        return r;

    for (uint32_t index = 1; w->off < w->len; index++) {
        if (rest_is_padding(w)) {
            log->trailing_zero_bytes = w->len - w->off;
            break;
        }
        if (index >= TL_EVENTLOG_MAX_EVENTS)
            return tl_error_set(w->err, -E2BIG, w->off,
                                "event %u: more than %u records, the cap (TL_EVENTLOG_MAX_EVENTS)",
                                index, TL_EVENTLOG_MAX_EVENTS);
        r = log->format == TL_EVENTLOG_CRYPTO_AGILE ? read_pcr_event2(w, index, &ev)
                                                    : read_pcr_event(w, index, &ev);
        if (r < 0)
            return r;
        r = check_pcr_index(w, &ev);
        if (r < 0)
            return r;
        r = note_startup_locality(w, &ev);
        if (r < 0)
            return r;
        r = walker_push(w, &ev);
        if (r < 0)
            return r;
    }
    return 0;
}

static int eventlog_parse(const uint8_t *buf, size_t len, bool cc, struct tl_eventlog *log,
                          struct tl_error *err)
{
    *log = (struct tl_eventlog){.buf = buf, .len = len, .startup_locality = -1, .cc = cc};
    if (len > TL_EVENTLOG_MAX_SIZE)
        return tl_error_set(err, -E2BIG, 0,
                            "event log of %zu bytes exceeds the cap of %u bytes "
                            "(TL_EVENTLOG_MAX_SIZE)",
                            len, TL_EVENTLOG_MAX_SIZE);
    struct walker w = {
        .buf = buf, .len = len, .zero_from = len, .log = log, .err = err, .cc = cc};
    while (w.zero_from > 0 && buf[w.zero_from - 1] == 0)
        w.zero_from--;
    int r = eventlog_walk(&w);
    if (r < 0) {
        tl_eventlog_done(log);
        return r;
    }
    /* Give back the slack of the doubling growth: the record array is what
     * a verifier holds per node. */
    struct tl_event *shrunk = realloc(log->events, log->n_events * sizeof(*shrunk));
    if (shrunk)
        log->events = shrunk;
    return 0;
}

int tl_eventlog_parse(const uint8_t *buf, size_t len, struct tl_eventlog *log, struct tl_error *err)
{
    return eventlog_parse(buf, len, false, log, err);
}

int tl_eventlog_parse_cc(const uint8_t *buf, size_t len, struct tl_eventlog *log,
                         struct tl_error *err)
{
    return eventlog_parse(buf, len, true, log, err);
}

void tl_eventlog_done(struct tl_eventlog *log)
{
    free(log->events);
    log->events = NULL;
    log->n_events = 0;
}

int tl_eventlog_bank_index(const struct tl_eventlog *log, uint16_t alg)
{
    for (unsigned i = 0; i < log->n_banks; i++)
        if (log->banks[i].alg == alg)
            return (int)i;
    return -1;
}
