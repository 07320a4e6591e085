/* llama_baseline.c — a same-run C baseline for `jgpt bench decode`.
 *
 * An independent, deliberately plain llama2.c-style decoder written for jgpt (not llama2.c's code):
 * it maps a llama2.c version-0 checkpoint, decodes greedily one token at a time from BOS with
 * float32 weights, with the matrix-vector products parallelised by `#pragma omp parallel for`
 * exactly as llama2.c's run.c does it, and prints tokens/s. Built with the flags the issue used for
 * run.c (gcc -Ofast -march=native -fopenmp), so that jgpt can be compared with the same algorithm
 * on the same machine in the same minute (this machine is shared, figures drift between runs).
 *
 *   gcc -Ofast -march=native -fopenmp -o llama_baseline llama_baseline.c -lm
 *   OMP_NUM_THREADS=2 ./llama_baseline model.bin 256 [--print]
 */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

typedef struct { int dim, hidden, layers, heads, kv_heads, vocab, seq; } Config;

static void matmul(float *out, const float *x, const float *w, int n, int d) {
    int i;
    #pragma omp parallel for private(i)
    for (i = 0; i < d; i++) {
        float s = 0.0f;
        for (int j = 0; j < n; j++) s += w[(long)i * n + j] * x[j];
        out[i] = s;
    }
}

static void rmsnorm(float *o, const float *x, const float *w, int n) {
    float ss = 0.0f;
    for (int i = 0; i < n; i++) ss += x[i] * x[i];
    ss = 1.0f / sqrtf(ss / n + 1e-5f);
    for (int i = 0; i < n; i++) o[i] = w[i] * (ss * x[i]);
}

static void softmax(float *a, int n) {
    float mx = a[0];
    for (int i = 1; i < n; i++) if (a[i] > mx) mx = a[i];
    float sum = 0.0f;
    for (int i = 0; i < n; i++) { a[i] = expf(a[i] - mx); sum += a[i]; }
    for (int i = 0; i < n; i++) a[i] /= sum;
}

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}
static double now(void) { return clock_s(CLOCK_MONOTONIC); }

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s model.bin tokens [--print]\n", argv[0]); return 1; }
    int steps = atoi(argv[2]), print = argc > 3 && !strcmp(argv[3], "--print");
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct stat st;
    fstat(fd, &st);
    char *base = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) { perror("mmap"); return 1; }
    Config c;
    memcpy(&c, base, sizeof c);
    int shared = c.vocab > 0;
    if (c.vocab < 0) c.vocab = -c.vocab;
    int dim = c.dim, hidden = c.hidden, L = c.layers, hs = dim / c.heads, kv_dim = hs * c.kv_heads;
    int kv_mul = c.heads / c.kv_heads;
    const float *p = (const float *)(base + sizeof c);
    const float *emb = p; p += (long)c.vocab * dim;
    const float *rms_att = p; p += (long)L * dim;
    const float *wq = p; p += (long)L * dim * dim;
    const float *wk = p; p += (long)L * dim * kv_dim;
    const float *wv = p; p += (long)L * dim * kv_dim;
    const float *wo = p; p += (long)L * dim * dim;
    const float *rms_ffn = p; p += (long)L * dim;
    const float *w1 = p; p += (long)L * dim * hidden;
    const float *w2 = p; p += (long)L * hidden * dim;
    const float *w3 = p; p += (long)L * dim * hidden;
    const float *rms_final = p; p += dim;
    p += (long)c.seq * hs; /* old RoPE tables */
    const float *wcls = shared ? emb : p;

    float *x = calloc(dim, 4), *xb = calloc(dim, 4), *xb2 = calloc(dim, 4), *hb = calloc(hidden, 4),
          *hb2 = calloc(hidden, 4), *q = calloc(dim, 4), *att = calloc((long)c.heads * c.seq, 4),
          *logits = calloc(c.vocab, 4);
    float *kc = calloc((long)L * c.seq * kv_dim, 4), *vc = calloc((long)L * c.seq * kv_dim, 4);
    if (steps > c.seq) steps = c.seq;

    int token = 1;
    double start = 0, cpu_start = 0;
    for (int pos = 0; pos < steps; pos++) {
        if (pos == 1) { /* like run.c: the clock starts after the first token */
            start = now();
            cpu_start = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        }
        memcpy(x, emb + (long)token * dim, dim * 4);
        for (int l = 0; l < L; l++) {
            rmsnorm(xb, x, rms_att + (long)l * dim, dim);
            long lo = (long)l * c.seq * kv_dim;
            float *k = kc + lo + (long)pos * kv_dim, *v = vc + lo + (long)pos * kv_dim;
            matmul(q, xb, wq + (long)l * dim * dim, dim, dim);
            matmul(k, xb, wk + (long)l * dim * kv_dim, dim, kv_dim);
            matmul(v, xb, wv + (long)l * dim * kv_dim, dim, kv_dim);
            for (int i = 0; i < dim; i += 2) {
                int hd = i % hs;
                float freq = 1.0f / powf(10000.0f, hd / (float)hs), val = pos * freq;
                float fcr = cosf(val), fci = sinf(val);
                for (int which = 0; which < (i < kv_dim ? 2 : 1); which++) {
                    float *vec = which == 0 ? q : k;
                    float v0 = vec[i], v1 = vec[i + 1];
                    vec[i] = v0 * fcr - v1 * fci;
                    vec[i + 1] = v0 * fci + v1 * fcr;
                }
            }
            int h;
            #pragma omp parallel for private(h)
            for (h = 0; h < c.heads; h++) {
                float *qh = q + h * hs, *a = att + (long)h * c.seq;
                for (int t = 0; t <= pos; t++) {
                    const float *kt = kc + lo + (long)t * kv_dim + (h / kv_mul) * hs;
                    float s = 0.0f;
                    for (int i = 0; i < hs; i++) s += qh[i] * kt[i];
                    a[t] = s / sqrtf(hs);
                }
                softmax(a, pos + 1);
                float *o = xb + h * hs;
                memset(o, 0, hs * 4);
                for (int t = 0; t <= pos; t++) {
                    const float *vt = vc + lo + (long)t * kv_dim + (h / kv_mul) * hs;
                    for (int i = 0; i < hs; i++) o[i] += a[t] * vt[i];
                }
            }
            matmul(xb2, xb, wo + (long)l * dim * dim, dim, dim);
            for (int i = 0; i < dim; i++) x[i] += xb2[i];
            rmsnorm(xb, x, rms_ffn + (long)l * dim, dim);
            matmul(hb, xb, w1 + (long)l * dim * hidden, dim, hidden);
            matmul(hb2, xb, w3 + (long)l * dim * hidden, dim, hidden);
            for (int i = 0; i < hidden; i++) hb[i] = hb[i] * (1.0f / (1.0f + expf(-hb[i]))) * hb2[i];
            matmul(xb, hb, w2 + (long)l * dim * hidden, hidden, dim);
            for (int i = 0; i < dim; i++) x[i] += xb[i];
        }
        rmsnorm(x, x, rms_final, dim);
        matmul(logits, x, wcls, dim, c.vocab);
        int best = 0;
        for (int i = 1; i < c.vocab; i++) if (logits[i] > logits[best]) best = i;
        token = best;
        if (print) printf("%d ", token);
    }
    double s = now() - start, cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    if (print) printf("\n");
    printf("{\"baseline\":\"bench/c/llama_baseline.c (run.c-style f32, omp parallel for)\",\"tokens\":%d,\"tokensPerSecond\":%.1f,\"tokensPerCpuSecond\":%.1f}\n",
           steps - 1, (steps - 1) / s, (steps - 1) / cpu);
    return 0;
}
