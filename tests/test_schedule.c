/* test_schedule.c: the plan of `mpirun -n R xai reproduce` (experiments/schedule.c): which ranks form
 * groups and which group runs which chain, from the chains' recorded costs; no MPI needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/base.h"
#include "experiments/schedule.h"

enum { MAXR = 64, MAXN = 16 };

typedef struct {
    int groups, group[MAXR], owner[MAXN], size[MAXR];
    double finish; /* the predicted time the last group finishes */
} plan;

/* Plans and checks the shape every plan has: groups numbered in rank order, runs of consecutive
 * ranks, every chain owned by one of them. */
static plan make(const double *solo, const double *shared, int n, int ranks)
{
    plan p;
    memset(&p, 0, sizeof p);
    p.groups = xai_sched_assign(solo, shared, n, ranks, p.group, p.owner);
    assert_true(p.groups >= 1 && p.groups <= ranks);
    assert_int_equal(p.group[0], 0);
    for (int r = 1; r < ranks; r++) assert_true(p.group[r] == p.group[r - 1] || p.group[r] == p.group[r - 1] + 1);
    assert_int_equal(p.group[ranks - 1], p.groups - 1);
    for (int r = 0; r < ranks; r++) p.size[p.group[r]]++;
    double load[MAXR] = {0};
    for (int i = 0; i < n; i++) {
        assert_true(p.owner[i] >= 0 && p.owner[i] < p.groups);
        const double s = solo[i] >= 0 ? solo[i] : 0, c = shared[i] >= 0 ? shared[i] : 0;
        load[p.owner[i]] += s + c / p.size[p.owner[i]];
    }
    for (int g = 0; g < p.groups; g++) p.finish = load[g] > p.finish ? load[g] : p.finish;
    return p;
}

/* The chain-per-rank plan: the longest first onto the rank with the least work. */
static double one_per_rank(const double *solo, const double *shared, int n, int ranks)
{
    double load[MAXR] = {0}, last = 0;
    char done[MAXN] = {0};
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int i = 0; i < n; i++)
            if (!done[i] && (best < 0 || solo[i] + shared[i] > solo[best] + shared[best])) best = i;
        int r = 0;
        for (int q = 1; q < ranks; q++)
            if (load[q] < load[r]) r = q;
        load[r] += solo[best] + shared[best];
        done[best] = 1;
        last = load[r] > last ? load[r] : last;
    }
    return last;
}

static void test_chain_per_rank(void **state)
{
    (void)state;
    /* Equal chains, fewer ranks than chains: no groups, two chains a rank. */
    const double solo[4] = {10, 10, 10, 10}, shared[4] = {10, 10, 10, 10};
    plan p = make(solo, shared, 4, 2);
    assert_int_equal(p.groups, 2);
    assert_int_equal(p.owner[0] + p.owner[1] + p.owner[2] + p.owner[3], 2);
    assert_true(p.finish == 40);
    /* One rank: everything on it. */
    p = make(solo, shared, 4, 1);
    assert_int_equal(p.groups, 1);
}

static void test_more_ranks_than_chains(void **state)
{
    (void)state;
    /* The long chain's group gets the spare ranks: 10 + 100/5 = 30 against the short one's 20
     * (one group of all six running both would take 10 + 100/6 + 10 + 10/6 = 38.3). */
    const double solo[2] = {10, 10}, shared[2] = {100, 10};
    plan p = make(solo, shared, 2, 6);
    assert_int_equal(p.groups, 2);
    assert_int_equal(p.size[p.owner[0]], 5);
    assert_int_equal(p.size[p.owner[1]], 1);
    assert_int_equal(p.owner[0], 0); /* rank 0 leads the costliest chain's group */
    assert_true(p.finish == 30);
    /* With little solo work one group of all six running both finishes first: 17.7 + 2.7. */
    const double little[2] = {1, 1};
    p = make(little, shared, 2, 6);
    assert_int_equal(p.groups, 1);
}

static void test_unknown_and_done(void **state)
{
    (void)state;
    /* Nothing recorded: a lone chain takes every rank. */
    const double unknown[1] = {-1};
    plan p = make(unknown, unknown, 1, 3);
    assert_int_equal(p.groups, 1);
    /* Two chains up to date (cost 0), one never run: the three ranks share that one. */
    const double solo[3] = {0, -1, 0}, shared[3] = {0, -1, 0};
    p = make(solo, shared, 3, 3);
    assert_int_equal(p.size[p.owner[1]], 3);
}

static void test_long_chains_share(void **state)
{
    (void)state;
    /* The full profile on 8 ranks (minutes on 2 cores): two long chains, ten short ones. One chain
     * a rank ends with the longest (345); groups for the long two finish about when the rest do. */
    const double solo[12] = {7, 7, 4, 4, 4, 4, 3, 3, 2, 2, 2, 2};
    const double shared[12] = {338, 338, 86, 86, 86, 86, 50, 50, 23, 23, 23, 23};
    plan p = make(solo, shared, 12, 8);
    assert_true(one_per_rank(solo, shared, 12, 8) == 345);
    assert_true(p.size[p.owner[0]] >= 2 && p.size[p.owner[1]] >= 2);
    assert_true(p.finish < 0.6 * 345);
}

static void test_nothing_shared(void **state)
{
    (void)state;
    /* Without shared stages (reproduce without --shard-stages) every rank is a group of its own,
     * even with ranks to spare. */
    const double solo[2] = {100, 10};
    int group[6], owner[2];
    assert_int_equal(xai_sched_assign(solo, NULL, 2, 6, group, owner), 6);
    for (int r = 0; r < 6; r++) assert_int_equal(group[r], r);
    assert_true(owner[0] == 0 && owner[1] == 1);
}

/* Random costs and rank counts: never later than one chain a rank, and with at least as many
 * ranks as chains, never later than the longest chain alone. */
static void test_never_worse(void **state)
{
    (void)state;
    srand(16);
    for (int t = 0; t < 500; t++) {
        const int n = 1 + rand() % MAXN, ranks = 1 + rand() % 40;
        double solo[MAXN], shared[MAXN], longest = 0;
        for (int i = 0; i < n; i++) {
            solo[i] = rand() % 50;
            shared[i] = rand() % 1000;
            longest = solo[i] + shared[i] > longest ? solo[i] + shared[i] : longest;
        }
        plan p = make(solo, shared, n, ranks);
        assert_true(p.finish <= one_per_rank(solo, shared, n, ranks) * (1 + 1e-9));
        if (ranks >= n) assert_true(p.finish <= longest * (1 + 1e-9));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chain_per_rank),     cmocka_unit_test(test_more_ranks_than_chains),
        cmocka_unit_test(test_unknown_and_done),   cmocka_unit_test(test_long_chains_share),
        cmocka_unit_test(test_nothing_shared),     cmocka_unit_test(test_never_worse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
