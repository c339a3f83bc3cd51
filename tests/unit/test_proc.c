/* Unit tests for src/host/proc.c: a helper's stdout captured and bounded,
 * its exit status, signal and first stderr line as tl_error text, a program
 * that is not there told apart from one that exits 127, the timeout, JSON
 * capture, a descriptor handed to a helper (keep_fd), and a detached child
 * known by pid + start time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tlhost/proc.h"

static int sh(const char *script, size_t out_max, long timeout_ms, struct tlh_run_result *res,
              struct tl_error *err)
{
    const char *argv[] = {"sh", "-c", script, NULL};
    struct tlh_run_options o = {.argv = argv, .stdout_max = out_max, .timeout_ms = timeout_ms};
    return tlh_run(&o, res, err);
}

static void test_capture_and_status(void **state)
{
    (void)state;
    struct tlh_run_result res;
    struct tl_error err = {0};
    assert_int_equal(sh("echo out; echo why >&2", 100, 0, &res, &err), 0);
    assert_string_equal(res.out, "out\n");
    assert_string_equal(res.err, "why\n");
    assert_true(WIFEXITED(res.status) && WEXITSTATUS(res.status) == 0);
    tlh_run_result_done(&res);

    assert_int_equal(sh("echo first >&2; echo second >&2; exit 3", 100, 0, &res, &err), -EIO);
    assert_string_equal(err.message, "sh: exit status 3: first");
    tlh_run_result_done(&res);

    assert_int_equal(sh("kill -TERM $$", 100, 0, &res, &err), -EIO);
    assert_string_equal(err.message, "sh: killed by signal 15");
    tlh_run_result_done(&res);

    assert_int_equal(sh("exec cat /dev/zero", 1000, 0, &res, &err), -EFBIG);
    assert_string_equal(err.message, "sh: more than 1000 bytes of output");
    assert_int_equal(res.out_len, 1000);
    tlh_run_result_done(&res);
}

static void test_not_found_and_timeout(void **state)
{
    (void)state;
    struct tlh_run_result res;
    struct tl_error err = {0};
    const char *argv[] = {"/nonexistent/tl-no-such-program", NULL};
    struct tlh_run_options o = {.argv = argv};
    assert_int_equal(tlh_run(&o, &res, &err), -ENOENT);
    assert_string_equal(err.message,
                        "cannot run /nonexistent/tl-no-such-program: No such file or directory");
    tlh_run_result_done(&res);

    assert_int_equal(sh("exit 127", 0, 0, &res, &err), -EIO);
    assert_string_equal(err.message, "sh: exit status 127");
    tlh_run_result_done(&res);

    assert_int_equal(sh("sleep 10", 100, 200, &res, &err), -ETIMEDOUT);
    assert_string_equal(err.message, "sh: no end within 200 ms; killed");
    assert_true(WIFSIGNALED(res.status) && WTERMSIG(res.status) == SIGKILL);
    tlh_run_result_done(&res);

    /* a child that closes its output and goes on is still bounded */
    assert_int_equal(sh("exec >/dev/null 2>&1; sleep 10", 100, 200, &res, &err), -ETIMEDOUT);
    tlh_run_result_done(&res);
}

static void test_json(void **state)
{
    (void)state;
    struct tl_error err = {0};
    json_t *j = NULL;
    const char *argv[] = {"sh", "-c", "echo '{\"pcr\": 7}'", NULL};
    struct tlh_run_options o = {.argv = argv, .stdout_max = 4096};
    assert_int_equal(tlh_run_json(&o, &j, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "pcr")), 7);
    json_decref(j);
    const char *bad[] = {"sh", "-c", "echo 'verdict: PASS'", NULL};
    o.argv = bad;
    assert_int_equal(tlh_run_json(&o, &j, &err), -EBADMSG);
    assert_null(j);
}

static void test_detached(void **state)
{
    (void)state;
    char log[] = "/tmp/test_proc.XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    struct tl_error err = {0};
    struct tlh_proc p = {0};
    char *argv[] = {"sh", "-c", "echo started; exec sleep 30", NULL};
    assert_int_equal(tlh_proc_start(argv, log, -1, &p, &err), 0);
    assert_true(p.pid > 0);
    assert_true(tlh_proc_alive(&p, NULL, NULL));
    struct tlh_proc other = {.pid = p.pid, .start = p.start + 1}; /* a reused pid */
    assert_false(tlh_proc_alive(&other, NULL, NULL));
    assert_int_equal(getsid(p.pid), p.pid);
    struct stat st = {0};
    for (int i = 0; i < 400 && (stat(log, &st) < 0 || st.st_size == 0); i++)
        usleep(5000); /* it runs on its own: wait until it has said it started */
    tlh_proc_kill(&p, SIGTERM, 2000);
    assert_int_equal(p.pid, 0);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_ptr_equal(fgets(line, sizeof(line), f), line);
    assert_string_equal(line, "started\n");
    fclose(f);
    char *nope[] = {"/nonexistent/tl-no-such-program", NULL};
    assert_int_equal(tlh_proc_start(nope, log, -1, &p, &err), -ENOENT);
    assert_string_equal(err.message,
                        "cannot run /nonexistent/tl-no-such-program: No such file or directory");
    unlink(log);
}

/* A descriptor another thread (or a library: tpm2-tss's swtpm TCTI) opened
 * without O_CLOEXEC reaches no child; the one a detached child is given
 * does. The children list their descriptors (sh's own, 0-2 and 10 for the
 * script: a dash reading -c uses none). */
static void test_descriptors_not_leaked(void **state)
{
    (void)state;
    int leak = dup2(open("/dev/null", O_RDONLY), 100); /* no O_CLOEXEC: as a library's */
    assert_int_equal(leak, 100);
    int kept = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(kept >= 3 && kept != 100);
    struct tlh_run_result res;
    struct tl_error err = {0};
    assert_int_equal(sh("ls /proc/$$/fd | sort -n | tr '\\n' ' '", 200, 0, &res, &err), 0);
    assert_string_equal(res.out, "0 1 2 ");
    tlh_run_result_done(&res);

    /* keep_fd: a secret on a pipe, read by the child as /dev/fd/N; nothing else leaks */
    int sp[2];
    assert_int_equal(pipe2(sp, O_CLOEXEC), 0);
    assert_int_equal(write(sp[1], "s3cret", 6), 6);
    close(sp[1]);
    char kscript[128];
    snprintf(kscript, sizeof(kscript),
             "cat /dev/fd/%d; echo; ls /proc/$$/fd | sort -n | tr '\\n' ' '", sp[0]);
    const char *kargv[] = {"sh", "-c", kscript, NULL};
    struct tlh_run_options ko = {.argv = kargv, .stdout_max = 200, .keep_fd = sp[0]};
    assert_int_equal(tlh_run(&ko, &res, &err), 0);
    char kwant[64];
    snprintf(kwant, sizeof(kwant), "s3cret\n0 1 2 %d ", sp[0]);
    assert_string_equal(res.out, kwant);
    tlh_run_result_done(&res);
    close(sp[0]);

    char log[] = "/tmp/test_proc.XXXXXX";
    int fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);
    char script[128];
    snprintf(script, sizeof(script), "ls /proc/$$/fd | sort -n | tr '\\n' ' '; exec sleep 30");
    char *argv[] = {"sh", "-c", script, NULL};
    struct tlh_proc p = {0};
    assert_int_equal(tlh_proc_start(argv, log, kept, &p, &err), 0);
    struct stat st = {0};
    for (int i = 0; i < 400 && (stat(log, &st) < 0 || st.st_size == 0); i++)
        usleep(5000);
    tlh_proc_kill(&p, SIGTERM, 2000);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    char line[64] = "", want[64];
    assert_ptr_equal(fgets(line, sizeof(line), f), line);
    snprintf(want, sizeof(want), "0 1 2 %d ", kept);
    assert_string_equal(line, want);
    fclose(f);
    unlink(log);
    close(kept);
    close(leak);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_capture_and_status),
        cmocka_unit_test(test_not_found_and_timeout),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_detached),
        cmocka_unit_test(test_descriptors_not_leaked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
