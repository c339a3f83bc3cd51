/* The emulated secure processor: what SEV-SNP or TDX hardware would hand a
 * confidential guest (an attestation report, a TD quote), produced in
 * software and signed by a local chain shaped like AMD's and Intel's.
 * A host without SEV-SNP or TDX runs confidential nodes with it; the
 * evidence goes through the very verifiers that judge real hardware's
 * (tl/snp.h, tl/tdx.h, tl/azure.h), and its roots are trusted only when a
 * policy names them (tl_tee_policy "trusted-roots"), never by default:
 * such a verdict says "emulated".
 *
 * This header holds what both halves share: validity windows, the launch
 * measurement computed from a firmware file, PEM. The generators are in
 * tl/snp_emul.h and tl/tdx_emul.h, the Azure HCL report builder in
 * tl/hcl_build.h.
 *
 * ---- MEASUREMENT (SEV-SNP) ----
 * tl_tee_emul_snp_measurement follows the shape of AMD's launch digest
 * (SEV-SNP Firmware ABI 1.57, 8.17.2 "PAGE_INFO"; sev-snp-measure's
 * gctx.py) over what this emulator knows, and is named for what it is,
 * an *emulated* launch digest:
 *   D = 48 zero bytes;
 *   the firmware is mapped to end at 4 GiB (GPA 0x100000000 - size, the
 *   size rounded up to 4 KiB, the tail zero-padded); for each 4 KiB page
 *   at GPA g, in address order:
 *     D = SHA-384(PAGE_INFO{DIGEST_CUR = D, CONTENTS = SHA-384(page),
 *                 LENGTH = 0x70, PAGE_TYPE = 1 (normal), IMI_PAGE = 0,
 *                 VMPL3/2/1_PERMS = 0, GPA = g})   (112 bytes);
 *   then for each vCPU i = 0 .. n-1:
 *     D = SHA-384(PAGE_INFO{D, CONTENTS = SHA-384(VMSA_i), 0x70,
 *                 PAGE_TYPE = 2 (VMSA), 0, 0, 0, 0,
 *                 GPA = 0xFFFFFFFFF000}),
 *     VMSA_i a stand-in 4 KiB page: "TL-EMUL-VMSA" (12 bytes), le32 i,
 *     le64 SEV_FEATURES (the guest features), zeros.
 * Differences from hardware: OVMF's SEV metadata (its zero, secrets and
 * CPUID pages) is not parsed and the VMSA is not the real register state,
 * so the value is not what an EPYC part would compute for the same OVMF;
 * it is a deterministic function of the firmware bytes, the vCPU count and
 * the guest features, which is what a policy pins.
 *
 * ---- MRTD (TDX) ----
 * tl_tee_emul_tdx_mrtd is the TDX module's MRTD algorithm (Intel TDX
 * Module ABI, TDH.MEM.PAGE.ADD and TDH.MR.EXTEND): one running SHA-384
 * over, for each 4 KiB page of the firmware mapped to end at 4 GiB (as
 * above): a 128-byte block "MEM.PAGE.ADD" | zeros to 16 | le64 GPA |
 * zeros, then for each 256-byte chunk at GPA c a 128-byte block
 * "MR.EXTEND" | zeros to 16 | le64 c | zeros, followed by the chunk's 256
 * bytes. Every page is added and extended (TDVF's metadata, which marks
 * some sections unmeasured, is not parsed). As on hardware, the vCPU
 * count does not enter MRTD.
 *
 * Pure: bytes in, bytes out; -errno + tl_error. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/error.h"

/* A certificate's or a collateral item's validity window. */
struct tl_tee_emul_window {
    time_t not_before, not_after;
};

#define TL_TEE_EMUL_FW_MAX (64u << 20) /* firmware larger than this is refused */

/* The emulated SEV-SNP launch digest above. -EINVAL (err) for an empty or
 * oversize firmware or vcpus 0 or > 512. */
int tl_tee_emul_snp_measurement(const uint8_t *fw, size_t fw_len, unsigned vcpus,
                                uint64_t guest_features, uint8_t out[48], struct tl_error *err);

/* The TDX MRTD above. -EINVAL for an empty or oversize firmware. */
int tl_tee_emul_tdx_mrtd(const uint8_t *fw, size_t fw_len, uint8_t out[48], struct tl_error *err);

/* DER certificate(s) as one PEM text (malloc'd, NUL-terminated; *len
 * excludes the NUL). */
int tl_tee_emul_pem(const uint8_t *const *ders, const size_t *lens, size_t n, char **out,
                    size_t *len, struct tl_error *err);
