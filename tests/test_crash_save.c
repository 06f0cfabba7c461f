/* test_crash_save.c - crash safety of aisle_model_save: a child process
 * saving models over an existing file is killed (SIGKILL) at random
 * points; afterwards the file must always load, as the old or the new
 * model, never corrupt.  Repeated 100 times. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/core.h"
#include "util/test_util.h"

#define ROUNDS 100

static aisle_model *train_popular(int n_items, int seed) {
    aisle_dataset *ds;
    assert_ok(aisle_dataset_new(&ds));
    core_rng r;
    rng_seed(&r, (uint64_t)seed);
    char u[32], it[32];
    /* big enough that a save takes a while (many write calls) */
    for (int e = 0; e < 20000; e++) {
        snprintf(u, sizeof u, "user-%d", (int)rng_below(&r, 3000));
        snprintf(it, sizeof it, "item-%d", (int)rng_below(&r, (uint64_t)n_items));
        assert_ok(aisle_dataset_add_event(ds, u, it, "view", 1, e));
    }
    aisle_config *cfg;
    assert_ok(aisle_config_new(&cfg));
    assert_ok(aisle_config_set_string(cfg, "model", "popular"));
    aisle_model *m;
    assert_ok(aisle_model_train(ds, cfg, &m));
    aisle_config_free(cfg);
    aisle_dataset_free(ds);
    return m;
}

static size_t item_count(const aisle_model *m) {
    size_t n;
    assert_ok(aisle_model_item_count(m, &n));
    return n;
}

static void test_killed_save_never_corrupts_the_model_file(void **state) {
    (void)state;
    char dir[1024], path[1100];
    tu_tmpdir(dir, sizeof dir, "crash_save");
    snprintf(path, sizeof path, "%s/shop.aisle", dir);
    aisle_model *a = train_popular(500, 1), *b = train_popular(900, 2);
    size_t na = item_count(a), nb = item_count(b);
    assert_true(na != nb);
    assert_ok(aisle_model_save(a, path, NULL));

    core_rng r;
    rng_seed(&r, (uint64_t)time(NULL));
    int saw_old = 0, saw_new = 0;
    for (int round = 0; round < ROUNDS; round++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* child: overwrite the file with b and a, alternately, until killed */
            for (int i = 0;; i++)
                if (aisle_model_save(i % 2 ? a : b, path, NULL) != AISLE_OK) _exit(3);
        }
        /* kill after 0..250 ms: a save takes ~100 ms here (mostly fsync), so
         * kills land in every phase: building, writing, fsync, rename */
        struct timespec ts = {0, (long)rng_below(&r, 250000) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) fail_msg("child saver failed (status %d)", status);
        aisle_model *m = NULL;
        int rc = aisle_model_load(&m, path, NULL);
        if (rc != AISLE_OK) fail_msg("round %d: model file unreadable after SIGKILL: %s", round, aisle_last_error());
        size_t n = item_count(m);
        assert_true(n == na || n == nb);
        saw_old += n == na;
        saw_new += n == nb;
        aisle_model_free(m);
    }
    print_message("%d kills: file held the first model %d times, the second %d times\n", ROUNDS, saw_old, saw_new);
    /* killed savers may leave their temporary files behind; they never
     * replace the model file, and the next save uses a fresh name */
    DIR *d = opendir(dir);
    int temps = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) temps++;
    closedir(d);
    print_message("files left in the directory: %d (the model file and stale temporaries)\n", temps);
    aisle_model_free(a);
    aisle_model_free(b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_killed_save_never_corrupts_the_model_file),
    };
    return cmocka_run_group_tests_name("crash_save", tests, NULL, NULL);
}
