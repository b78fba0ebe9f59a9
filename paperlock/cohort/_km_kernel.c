/* The Kaplan–Meier steps of the cohort search (paperlock/cohort/km_kernel.py): one pass over the times sorted
 * by value, the same floating-point operations in the same order as fast_survival.km_steps_numpy, so the two
 * give the same bits (built with -ffp-contract=off: no fused multiply-add). */
#include <stdlib.h>

static const double *sort_keys; /* qsort's comparison reads it: not thread-safe (the search uses processes) */

static int by_time(const void *a, const void *b) {
    double x = sort_keys[*(const int *)a], y = sort_keys[*(const int *)b];
    return (x > y) - (x < y);
}

/* t, e: n times and event flags (0/1 as doubles). Writes the k event times, S and cumulative Greenwood sums to
 * te, surv, gw (room for n each) and idx = {median, u, l} (first S <= 0.5 + r_tol, last S >= 0.5 + eps,
 * first S <= 0.5 - eps; -1 where none). Returns k, or -1 when out of memory. */
int km_steps(int n, const double *t, const double *e, double r_tol, double eps, double *te, double *surv,
             double *gw, int *idx) {
    int *order = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (order == NULL) return -1;
    for (int i = 0; i < n; i++) order[i] = i;
    sort_keys = t;
    qsort(order, (size_t)n, sizeof(int), by_time);
    int k = 0;
    double s = 1.0, g = 0.0;
    int i = 0;
    while (i < n) {
        double ti = t[order[i]], d = 0.0;
        int j = i;
        while (j < n && t[order[j]] == ti) {
            d += e[order[j]];
            j++;
        }
        if (d > 0) {
            double r = (double)(n - i);
            s = s * (1.0 - d / r);
            if (r > d) g = g + d / (r * (r - d));
            te[k] = ti;
            surv[k] = s;
            gw[k] = g;
            k++;
        }
        i = j;
    }
    free(order);
    idx[0] = idx[1] = idx[2] = -1;
    for (int q = 0; q < k; q++) {
        if (idx[0] < 0 && surv[q] <= 0.5 + r_tol) idx[0] = q;
        if (surv[q] >= 0.5 + eps) idx[1] = q;
        if (idx[2] < 0 && surv[q] <= 0.5 - eps) idx[2] = q;
    }
    return k;
}
