/* vm.c: a node's VM plumbing: its files (overlay, variable store, vTPM
 * state), swtpm and QEMU. Slow: files are copied, helpers run, processes
 * are waited for. Called by lifecycle.c WITHOUT tld.lock, on a node it has
 * claimed (n->busy): these functions write the node's process, vTPM and
 * diagnosis fields (qemu, swtpm, ctrl, ek, host, tpm_seen), which no other
 * thread reads while the node is busy; they never
 * touch its spec or state. Each returns 0 or -errno with err set. */
#pragma once

#include "tld.h"

/* HOME/nodes/NAME made afresh (leftovers of a create tld did not finish are
 * removed first) */
int tld_vm_make_dir(struct tld *t, struct tld_node *n, struct tl_error *err);
/* disk.qcow2 over IMAGE/disk.raw; vars.fd from the spec's store or OVMF's */
int tld_vm_make_overlay(struct tld *t, struct tld_node *n, struct tl_error *err);
int tld_vm_make_vars(struct tld *t, struct tld_node *n, struct tl_error *err);
/* A persisted vTPM (HOME/nodes/NAME/vtpm, HOME/keys/NAME.vtpm.key) made
 * and its EKs certified: n->ek set */
int tld_vm_provision_persisted(struct tld *t, struct tld_node *n, struct tl_error *err);
/* The persisted vTPM's state and key removed (a reimage with a new vTPM) */
void tld_vm_forget_vtpm(struct tld *t, struct tld_node *n);
/* A boot: an external node's agent config; a VM's swtpm (with a vTPM) and
 * QEMU. Nothing is left running when it fails. The new agent token's
 * SHA-256 goes to token_sha256 (the caller sets it on the node under the
 * lock: the API reads it to admit the agent). */
int tld_vm_boot(struct tld *t, struct tld_node *n, uint8_t token_sha256[32], struct tl_error *err);
/* QEMU killed, the agent channel closed, the vTPM read and shut down */
void tld_vm_halt(struct tld *t, struct tld_node *n);
/* After QEMU ended: the agent channel closed, the vTPM read and shut down */
void tld_vm_stop_vtpm(struct tld *t, struct tld_node *n);
/* Every file of the node: its folder, its vTPM key, a non-persisted vTPM */
void tld_vm_remove_files(struct tld *t, struct tld_node *n);
