/* _lhsampler, interned file and function names.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ strings */

typedef struct lhstr {
    uint64_t hash;
    uint32_t len;
    char s[];
} lhstr;

static struct {
    lhstr **slots;
    size_t cap, count, bytes;
} strings;

static uint64_t hash_bytes(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h ? h : 1;
}

static int strings_grow(void) {
    size_t ncap = strings.cap ? strings.cap * 2 : 128;
    lhstr **ns = sys_calloc(ncap, sizeof(lhstr *));
    if (!ns) return -1;
    for (size_t i = 0; i < strings.cap; i++) {
        lhstr *e = strings.slots[i];
        if (!e) continue;
        size_t j = e->hash & (ncap - 1);
        while (ns[j]) j = (j + 1) & (ncap - 1);
        ns[j] = e;
    }
    sys_free(strings.slots);
    __atomic_add_fetch(&own_bytes, (size_t)((ncap - strings.cap) * sizeof(lhstr *)), __ATOMIC_RELAXED);
    strings.slots = ns;
    strings.cap = ncap;
    return 0;
}

/* Caller holds stack_lock. */
static lhstr *str_intern(const char *s, size_t n) {
    if ((strings.count + 1) * 2 > strings.cap && strings_grow() < 0) return NULL;
    uint64_t h = hash_bytes(s, n);
    size_t i = h & (strings.cap - 1);
    for (;;) {
        lhstr *e = strings.slots[i];
        if (!e) break;
        if (e->hash == h && e->len == n && memcmp(e->s, s, n) == 0) return e;
        i = (i + 1) & (strings.cap - 1);
    }
    lhstr *e = sys_malloc(sizeof(lhstr) + n + 1);
    if (!e) return NULL;
    e->hash = h;
    e->len = (uint32_t)n;
    memcpy(e->s, s, n);
    e->s[n] = 0;
    strings.slots[i] = e;
    strings.count++;
    strings.bytes += sizeof(lhstr) + n + 1;
    __atomic_add_fetch(&own_bytes, (size_t)(sizeof(lhstr) + n + 1), __ATOMIC_RELAXED);
    return e;
}

/* UTF-8 of a str object without calling into Python (no allocation, no GIL
 * needed: str objects are immutable). Truncates very long names. */
static size_t utf8_of(PyObject *u, char *buf, size_t cap) {
    if (u == NULL || !PyUnicode_Check(u)) goto unknown;
#if PY_VERSION_HEX < 0x030C0000
    if (!PyUnicode_IS_READY(u)) goto unknown;
#endif
    {
        int kind = PyUnicode_KIND(u);
        const void *data = PyUnicode_DATA(u);
        Py_ssize_t n = PyUnicode_GET_LENGTH(u);
        size_t len = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_UCS4 c = PyUnicode_READ(kind, data, i);
            if (len + 4 >= cap) break;
            if (c < 0x80) {
                buf[len++] = (char)c;
            } else if (c < 0x800) {
                buf[len++] = (char)(0xC0 | (c >> 6));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            } else if (c < 0x10000) {
                if (c >= 0xD800 && c <= 0xDFFF) c = 0xFFFD; /* lone surrogate */
                buf[len++] = (char)(0xE0 | (c >> 12));
                buf[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            } else {
                buf[len++] = (char)(0xF0 | (c >> 18));
                buf[len++] = (char)(0x80 | ((c >> 12) & 0x3F));
                buf[len++] = (char)(0x80 | ((c >> 6) & 0x3F));
                buf[len++] = (char)(0x80 | (c & 0x3F));
            }
        }
        return len;
    }
unknown:
    buf[0] = '?';
    return 1;
}
