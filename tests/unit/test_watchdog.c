/* Unit tests for src/host/watchdog.c: past its deadline the watchdog
 * SIGKILLs the interrupt's pid and marks the interrupt SIGALRM ("timed
 * out"); stopped before it, it touches neither. A `sleep` child stands in
 * for a swtpm that never answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* after the headers it needs */

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tlhost/watchdog.h"

static pid_t sleeper(void)
{
    pid_t pid = fork();
    if (pid == 0) {
        execlp("sleep", "sleep", "30", (char *)NULL);
        _exit(127);
    }
    assert_true(pid > 0);
    return pid;
}

static void test_fires(void **state)
{
    (void)state;
    struct tlh_swtpm_interrupt intr = {.kill_pid = sleeper()};
    struct tlh_watchdog dog;
    assert_int_equal(tlh_watchdog_start(&dog, &intr, 100), 0);
    int st = 0;
    assert_int_equal(waitpid(intr.kill_pid, &st, 0), intr.kill_pid); /* ended by the watchdog */
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    assert_true(tlh_watchdog_stop(&dog));
    assert_int_equal(intr.signal, SIGALRM);
    assert_string_equal(tlh_swtpm_interrupt_reason(intr.signal), "timed out");
}

static void test_stopped_in_time(void **state)
{
    (void)state;
    pid_t pid = sleeper();
    struct tlh_swtpm_interrupt intr = {.kill_pid = pid};
    struct tlh_watchdog dog;
    assert_int_equal(tlh_watchdog_start(&dog, &intr, 60 * 1000), 0);
    assert_false(tlh_watchdog_stop(&dog)); /* at once: long before its deadline */
    assert_int_equal(intr.signal, 0);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), 0); /* still running */
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    assert_false(tlh_watchdog_stop(&dog)); /* a second stop: nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fires),
        cmocka_unit_test(test_stopped_in_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
