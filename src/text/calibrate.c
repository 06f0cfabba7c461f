/* calibrate.c - probabilities from logits: softmax with a temperature,
 * fitting the temperature on held-out texts (temperature scaling, Guo et
 * al. 2017, "On Calibration of Modern Neural Networks") and the expected
 * calibration error. */
#include "text.h"

#include <math.h>

void text_softmax(float *z, size_t n, float temperature) {
    if (!n) return;
    float m = z[0];
    for (size_t k = 1; k < n; k++) m = z[k] > m ? z[k] : m;
    double s = 0;
    for (size_t k = 0; k < n; k++) s += z[k] = expf((z[k] - m) / temperature);
    for (size_t k = 0; k < n; k++) z[k] = (float)(z[k] / s);
}

/* Mean negative log-likelihood at temperature T. */
static double nll(const float *logits, const uint32_t *labels, size_t rows, uint32_t nl, double T) {
    double total = 0;
    for (size_t i = 0; i < rows; i++) {
        const float *z = logits + i * nl;
        double m = z[0];
        for (uint32_t k = 1; k < nl; k++) m = z[k] > m ? z[k] : m;
        double s = 0;
        for (uint32_t k = 0; k < nl; k++) s += exp((z[k] - m) / T);
        total += log(s) - (z[labels[i]] - m) / T;
    }
    return total / (double)(rows ? rows : 1);
}

float text_fit_temperature(const float *logits, const uint32_t *labels, size_t rows, uint32_t n_labels) {
    if (!rows || n_labels < 2) return 1.0f;
    /* the NLL is convex in 1/T; golden-section search over log T */
    double a = log(1.0 / 20), b = log(20.0), g = (sqrt(5.0) - 1) / 2;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    double f1 = nll(logits, labels, rows, n_labels, exp(x1)), f2 = nll(logits, labels, rows, n_labels, exp(x2));
    for (int it = 0; it < 60; it++) {
        if (f1 < f2) {
            b = x2, x2 = x1, f2 = f1;
            x1 = b - g * (b - a);
            f1 = nll(logits, labels, rows, n_labels, exp(x1));
        } else {
            a = x1, x1 = x2, f1 = f2;
            x2 = a + g * (b - a);
            f2 = nll(logits, labels, rows, n_labels, exp(x2));
        }
    }
    return (float)exp((a + b) / 2);
}

double text_ece(const float *confidence, const uint8_t *correct, size_t n, int bins) {
    if (!n || bins < 1) return 0;
    double conf[64] = {0}, acc[64] = {0};
    size_t cnt[64] = {0};
    if (bins > 64) bins = 64;
    for (size_t i = 0; i < n; i++) {
        int b = (int)(confidence[i] * bins);
        if (b >= bins) b = bins - 1;
        if (b < 0) b = 0;
        conf[b] += confidence[i];
        acc[b] += correct[i];
        cnt[b]++;
    }
    double e = 0;
    for (int b = 0; b < bins; b++)
        if (cnt[b]) e += fabs(acc[b] - conf[b]) / (double)n;
    return e;
}
