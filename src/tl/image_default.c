/* The default node image, built on first use: `tl aks create` (and the
 * other verbs that start nodes from a pool) in a fresh TL_HOME finds no
 * HOME/images/default and builds it here, before calling tld, instead of
 * stopping with "no Gen2 node image".
 *
 * Why tl and not tld: the build takes a minute or more of disk and process
 * I/O (the recipe, scripts/image-build.sh) and needs the fixtures and the
 * tl-agent of the caller's installation; tld must not do long I/O under
 * its lock, and a request that waits minutes for a worker would outlive
 * the client's patience anyway. tl does it in the caller's terminal, with
 * the recipe's progress on stderr, and tld then finds the image as if
 * `tl image build -o HOME/images/default` had been run by hand.
 *
 * The image is built into DIR.partial and renamed: an interrupted build
 * never leaves a DIR that tld would take. A lock file (HOME/images/.lock)
 * keeps two first uses from building at once. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tl.h"
#include "tl/util.h"
#include "tlhost/proc.h"

/* Debian's signed shim, grub and kernel: the fixtures tl was built with
 * when they are there (tlc_image_build takes them), else HOME/fixtures,
 * filled by the installed scripts/fixtures.sh (apt-get download). NULL:
 * use the built-in ones; "" failed (reported). */
static const char *fixtures_for(const char *home, char *buf, size_t size)
{
    char probe[PATH_MAX];
    snprintf(probe, sizeof(probe), "%s/shimx64.efi.signed", TL_FIXTURES_DIR);
    if (access(probe, R_OK) == 0)
        return NULL;
    snprintf(buf, size, "%s/fixtures", home);
    snprintf(probe, sizeof(probe), "%s/.complete", buf);
    if (access(probe, R_OK) == 0)
        return buf;
    char datadir[PATH_MAX], script[PATH_MAX + 32];
    if (tlc_image_datadir(datadir, sizeof(datadir)) < 0)
        return "";
    snprintf(script, sizeof(script), "%s/scripts/fixtures.sh", datadir);
    fprintf(stderr, "tl: fetching Debian's signed shim, grub and kernel into %s\n", buf);
    const char *argv[] = {"bash", script, buf, NULL};
    struct tlh_run_options o = {.argv = argv, .stdout_to_stderr = true, .stderr_inherit = true};
    struct tlh_run_result res;
    struct tl_error err = {0};
    int r = tlh_run(&o, &res, &err);
    tlh_run_result_done(&res);
    if (r < 0) {
        tlc_report(buf, "cannot fetch the node image's boot binaries (%s)", err.message);
        return "";
    }
    return buf;
}

int tlc_image_ensure_default(const char *home, int generation)
{
    char images[PATH_MAX], dir[PATH_MAX + 16], partial[PATH_MAX + 32], lock[PATH_MAX + 16];
    snprintf(images, sizeof(images), "%s/images", home);
    snprintf(dir, sizeof(dir), "%s/%s", images, generation == 1 ? "gen1" : "default");
    if (access(dir, F_OK) == 0)
        return TLC_EXIT_OK;
    int r = tlc_mkdir_p(home);
    if (r < 0 || (mkdir(images, 0700) < 0 && errno != EEXIST)) {
        tlc_report(images, "cannot create: %s", strerror(r < 0 ? -r : errno));
        return TLC_EXIT_BAD;
    }
    snprintf(lock, sizeof(lock), "%s/.lock", images);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX) < 0) {
        tlc_report(lock, "cannot lock: %s", strerror(errno));
        if (fd >= 0)
            close(fd);
        return TLC_EXIT_BAD;
    }
    int rc = TLC_EXIT_OK;
    if (access(dir, F_OK) == 0) /* another tl built it while this one waited */
        goto out;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fprintf(stderr, "tl: no Gen%d node image in %s yet: building it (first use)\n", generation,
            images);
    char fixtures_buf[PATH_MAX];
    const char *fixtures = fixtures_for(home, fixtures_buf, sizeof(fixtures_buf));
    if (fixtures && !*fixtures) {
        rc = TLC_EXIT_BAD;
        goto out;
    }
    snprintf(partial, sizeof(partial), "%s.partial", dir);
    const char *rm[] = {"rm", "-rf", "--one-file-system", partial, NULL};
    struct tlh_run_options o = {.argv = rm};
    struct tlh_run_result res;
    struct tl_error err = {0};
    (void)tlh_run(&o, &res, &err);
    tlh_run_result_done(&res);
    struct tlc_image_build b = {.out = partial, .fixtures = fixtures, .generation = generation};
    /* the recipe's summary goes to stderr with its progress: tl aks
     * create's answer must stay alone on stdout */
    b.to_stderr = true;
    rc = tlc_image_build(&b);
    if (rc != TLC_EXIT_OK) {
        tlc_report(dir,
                   "the first node image did not build (see above); build it by hand with "
                   "tl image build%s -o %s",
                   generation == 1 ? " --gen1" : "", dir);
        goto out;
    }
    if (rename(partial, dir) < 0) {
        tlc_report(dir, "cannot move the built image here: %s", strerror(errno));
        rc = TLC_EXIT_BAD;
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    fprintf(stderr, "tl: node image ready in %s (%.0f s)\n", dir,
            (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
out:
    close(fd);
    return rc;
}

int tlc_client_node_image(const char *what, bool gen1)
{
    char home[PATH_MAX];
    if (tlc_client_home(home, sizeof(home)) < 0) {
        tlc_report(what, "no data directory: set TL_HOME or HOME");
        return TLC_EXIT_BAD;
    }
    return tlc_image_ensure_default(home, gen1 ? 1 : 2);
}
