/* Newton-Raphson of an unstratified Cox model (Breslow or Efron ties), compiled for small fits.
 *
 * The reference is the Python path in cox.py (`_iterate` with cox_dense.py's derivatives, `_newton_one` for one
 * 0/1 covariate): the same start (beta = 0), step-halving, convergence rule and cholesky2 singularity rule, so
 * the iterates agree with it to rounding (tests/test_cox_kernel.py). Risk-set sums follow R's coxfit6: rows
 * sorted by time, visited from the last time backwards, each distinct time's events added after its Efron terms.
 * Built by analysis/stats/cox_kernel.py with `cc -O2 -ffp-contract=off` (no fused multiply-add, so the compiler
 * cannot change the rounding from machine to machine; exp and log are libm's). No global state: thread-safe.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Work arrays of one fit (p covariates, n rows). */
typedef struct {
    double *eta, *a, *a2, *e1, *e2, *m;  /* n; p; p*p; p; p*p; p */
    double *fac, *step;                  /* p*p LDL' factor; p */
    int *sing;                           /* p */
} Work;

/* Log partial likelihood, score u (p) and information imat (p*p, full) at beta; rows sorted by time. */
static double derivs(int n, int p, const double *time, const double *status, const double *x, int efron,
                     const double *beta, double *u, double *imat, Work *w)
{
    double shift = -INFINITY, loglik = 0.0, s0 = 0.0;
    int i, j, k;
    for (i = 0; i < n; i++) {
        double eta = 0.0;
        for (j = 0; j < p; j++) eta += x[(size_t)i * p + j] * beta[j];
        w->eta[i] = eta;
        if (!(eta <= shift) && !isnan(shift)) shift = eta;  /* a NaN stays, as numpy's maximum */
    }
    memset(u, 0, sizeof(double) * p);
    memset(imat, 0, sizeof(double) * p * p);
    memset(w->a, 0, sizeof(double) * p);
    memset(w->a2, 0, sizeof(double) * p * p);
    i = n - 1;
    while (i >= 0) {
        double t = time[i], e0 = 0.0;
        int d = 0;
        memset(w->e1, 0, sizeof(double) * p);
        memset(w->e2, 0, sizeof(double) * p * p);
        for (; i >= 0 && time[i] == t; i--) {
            const double *xi = x + (size_t)i * p;
            double r = exp(w->eta[i] - shift);
            double *s1 = w->a, *s2 = w->a2;
            if (status[i] > 0) {  /* an event: its own sums, added to the risk set after the Efron terms */
                d++;
                loglik += w->eta[i] - shift;
                for (j = 0; j < p; j++) u[j] += xi[j];
                e0 += r;
                s1 = w->e1;
                s2 = w->e2;
            } else {
                s0 += r;
            }
            for (j = 0; j < p; j++) {
                double rx = r * xi[j];
                s1[j] += rx;
                for (k = 0; k <= j; k++) s2[j * p + k] += rx * xi[k];
            }
        }
        if (d == 0) continue;
        if (!efron || d == 1) {  /* Breslow: d equal terms */
            s0 += e0;
            for (j = 0; j < p; j++) {
                w->a[j] += w->e1[j];
                for (k = 0; k <= j; k++) w->a2[j * p + k] += w->e2[j * p + k];
            }
            double inv = 1.0 / s0;  /* products, not divisions: a division costs several multiplications */
            loglik -= d * log(s0);
            for (j = 0; j < p; j++) w->m[j] = w->a[j] * inv;
            for (j = 0; j < p; j++) {
                u[j] -= d * w->m[j];
                for (k = 0; k <= j; k++) imat[j * p + k] += d * (w->a2[j * p + k] * inv - w->m[j] * w->m[k]);
            }
        } else {  /* Efron: the k-th of d tied events weighs them 1 - k/d */
            int slot;
            for (slot = 0; slot < d; slot++) {
                double keep = 1.0 - (double)slot / d;
                double den = s0 + keep * e0, inv = 1.0 / den;
                loglik -= log(den);
                for (j = 0; j < p; j++) w->m[j] = (w->a[j] + keep * w->e1[j]) * inv;
                for (j = 0; j < p; j++) {
                    u[j] -= w->m[j];
                    for (k = 0; k <= j; k++)
                        imat[j * p + k] += (w->a2[j * p + k] + keep * w->e2[j * p + k]) * inv - w->m[j] * w->m[k];
                }
            }
            s0 += e0;
            for (j = 0; j < p; j++) {
                w->a[j] += w->e1[j];
                for (k = 0; k <= j; k++) w->a2[j * p + k] += w->e2[j * p + k];
            }
        }
    }
    for (j = 0; j < p; j++)
        for (k = 0; k < j; k++) imat[k * p + j] = imat[j * p + k];
    return loglik;
}

/* R's cholesky2 of imat (p*p) into w->fac (LDL': unit L below the diagonal, D on it): pivots below toler x the
 * largest diagonal element are singular (w->sing), as cox.py's `_singular`. */
static void factor(int p, const double *imat, double toler, Work *w)
{
    double *m = w->fac, dmax, eps;
    int i, j, k;
    memcpy(m, imat, sizeof(double) * p * p);
    dmax = m[0];
    for (i = 1; i < p; i++) {  /* Python's max(float(max(diag)), 0.0): NaN stays NaN */
        double v = m[i * p + i];
        if (isnan(v) || v > dmax) dmax = v;
    }
    if (!isnan(dmax) && dmax < 0) dmax = 0.0;
    eps = dmax == 0 ? toler : dmax * toler;
    for (i = 0; i < p; i++) {
        double pivot = m[i * p + i];
        if (!isfinite(pivot) || pivot < eps) {
            w->sing[i] = 1;
            continue;
        }
        w->sing[i] = 0;
        for (j = i + 1; j < p; j++) {
            double col = m[j * p + i] / pivot;
            for (k = i + 1; k <= j; k++) m[j * p + k] -= col * m[k * p + i];
        }
        for (j = i + 1; j < p; j++) m[j * p + i] /= pivot;
    }
}

/* s = the solution of (factored imat) s = v over the non-singular columns, 0 for the singular ones. */
static void solve(int p, const Work *w, const double *v, double *s)
{
    const double *m = w->fac;
    int i, k;
    for (i = 0; i < p; i++) {
        double r = v[i];
        if (w->sing[i]) { s[i] = 0.0; continue; }
        for (k = 0; k < i; k++) if (!w->sing[k]) r -= m[i * p + k] * s[k];
        s[i] = r;
    }
    for (i = 0; i < p; i++) if (!w->sing[i]) s[i] /= m[i * p + i];
    for (i = p - 1; i >= 0; i--) {
        double r;
        if (w->sing[i]) continue;
        r = s[i];
        for (k = i + 1; k < p; k++) if (!w->sing[k]) r -= m[k * p + i] * s[k];
        s[i] = r;
    }
}

/* Newton step u / imat into w->step: cholesky2 + solve, or, for one 0/1-style scalar model, `_newton_one`'s
 * division. */
static void newton_step(int p, const double *imat, const double *u, double toler, int scalar, Work *w)
{
    if (scalar) {
        w->step[0] = (imat[0] > 0 && isfinite(imat[0])) ? u[0] / imat[0] : 0.0;
        return;
    }
    factor(p, imat, toler, w);
    solve(p, w, u, w->step);
}

/* Stable sort of the row indices 0..n-1 by time (numpy's argsort(kind="stable")): a bottom-up merge sort. */
static void order_by_time(int n, const double *time, int *idx, int *tmp)
{
    int width, i;
    for (i = 0; i < n; i++) idx[i] = i;
    for (width = 1; width < n; width *= 2) {
        int lo;
        for (lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi) tmp[k++] = time[idx[b]] < time[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        memcpy(idx, tmp, sizeof(int) * n);
    }
}

/* R coxfit6's Newton-Raphson from beta = 0 (cox.py `_iterate`). in_time, in_status (0/1): n rows, in any order;
 * in_x: row i's covariate j at in_x[i * row_stride + j * col_stride]. out (4 + 3p + 2p*p): newbeta (p), the score u (p) and
 * information imat (p*p) at newbeta, the inverse of imat's non-singular block (p*p, zero elsewhere), the singular
 * flags (p, 0/1), then the loglik at newbeta, the loglik at 0, the number of iterations and whether they
 * converged (0/1). Returns 0, or -1 when out of memory. */
int cox_newton(int n, int p, const double *in_time, const double *in_status, const double *in_x, long row_stride,
               long col_stride, int efron, int scalar, int iter_max, double eps, double toler, double *out)
{
    Work w;
    double *beta, *time, *status, *x, best, newlk, loglik0;
    double *newbeta = out, *u = out + p, *imat = u + p, *var = imat + (size_t)p * p, *sing = var + (size_t)p * p;
    double *tail = sing + p;
    int i, j, it, halving = 0, converged = 0, iterations = 0;
    size_t pp = (size_t)p * p;
    double *buf = malloc(sizeof(double) * ((size_t)n * (p + 3) + 6 * (size_t)p + 3 * pp + 1));
    int *ibuf = malloc(sizeof(int) * ((size_t)p + 2 * (size_t)n + 1)), *idx = ibuf + p, *tmp = idx + n;
    if (!buf || !ibuf) { free(buf); free(ibuf); return -1; }
    w.eta = buf; w.a = w.eta + n; w.a2 = w.a + p; w.e1 = w.a2 + pp; w.e2 = w.e1 + p; w.m = w.e2 + pp;
    w.fac = w.m + p; w.step = w.fac + pp; beta = w.step + p; time = beta + p; status = time + n; x = status + n;
    w.sing = ibuf;
    order_by_time(n, in_time, idx, tmp);
    for (i = 0; i < n; i++) {  /* sorted by time, x as (n, p) row-major */
        const double *row = in_x + idx[i] * row_stride;
        time[i] = in_time[idx[i]];
        status[i] = in_status[idx[i]];
        for (j = 0; j < p; j++) x[(size_t)i * p + j] = row[j * col_stride];
    }

    memset(beta, 0, sizeof(double) * p);
    loglik0 = derivs(n, p, time, status, x, efron, beta, u, imat, &w);
    best = newlk = loglik0;
    newton_step(p, imat, u, toler, scalar, &w);
    for (j = 0; j < p; j++) newbeta[j] = beta[j] + w.step[j];
    for (it = 1; it <= iter_max; it++) {
        int finite;
        iterations = it;
        newlk = derivs(n, p, time, status, x, efron, newbeta, u, imat, &w);
        finite = isfinite(newlk);
        if (finite && newlk != 0 && fabs(1 - best / newlk) <= eps && !halving) {
            converged = 1;
            break;
        }
        if (it == iter_max) break;
        if (!finite || newlk < best) {
            halving = 1;
            for (j = 0; j < p; j++) newbeta[j] = (newbeta[j] + beta[j]) / 2;
        } else {
            halving = 0;
            best = newlk;
            newton_step(p, imat, u, toler, scalar, &w);
            for (j = 0; j < p; j++) {
                beta[j] = newbeta[j];
                newbeta[j] = newbeta[j] + w.step[j];
            }
        }
    }
    /* the variance: inverse of the last information's non-singular block, column by column, lower mirrored */
    factor(p, imat, toler, &w);
    memset(var, 0, sizeof(double) * pp);
    for (j = 0; j < p; j++) {
        if (w.sing[j]) continue;
        memset(w.m, 0, sizeof(double) * p);
        w.m[j] = 1.0;
        solve(p, &w, w.m, w.step);
        for (i = j; i < p; i++) var[i * p + j] = var[j * p + i] = w.step[i];
    }
    for (j = 0; j < p; j++) sing[j] = w.sing[j];
    tail[0] = newlk;
    tail[1] = loglik0;
    tail[2] = iterations;
    tail[3] = converged;
    free(buf);
    free(ibuf);
    return 0;
}
