/* libFuzzer target: tl_ek_cert_verify, the attestation service's check of
 * an EK certificate a node presents (DER from the vTPM's NV). A CA is made
 * once; the input is the certificate. Seeds: EK certificates issued by that
 * CA are not stable across runs, so run.sh seeds with real X.509 DER from
 * the vectors and libFuzzer mutates from there. A verdict of success for
 * bytes that are not a certificate the CA issued would be a forgery: trap. */
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "tl/ekca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct tl_ekca ca;
    static int ready;
    if (!ready) {
        if (tl_ekca_create(&ca, time(NULL), NULL) < 0)
            __builtin_trap();
        ready = 1;
    }
    struct tl_error err = {0};
    if (tl_ek_cert_verify(data, size, ca.root, ca.intermediate, NULL, time(NULL), &err) == 0)
        __builtin_trap(); /* only this run's CA could have signed it */
    return 0;
}
