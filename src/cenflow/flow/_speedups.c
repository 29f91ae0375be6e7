/* cenflow.flow._speedups: the per-datagram hot loops of the flow decoder, in C.
 *
 * The Python decoder (cenflow.flow.decoder / sinks / wire) is the reference.  Every function
 * here either produces exactly what the Python path would, or reports that it declines (and
 * then changes nothing), so the caller falls back to Python for that datagram.  It declines on
 * anything unusual: malformed framing, template or options-template sets, data of an unknown,
 * expired, variable-length or options template, a layout the batch has no group for yet.
 *
 * Every read is bounds-checked against the buffer: payloads are untrusted network input.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MIN_DATA_SET_ID 256
#define MAX_SETS 1024 /* sets gathered per datagram; more (absurd for real exporters) declines */

static PyObject *str_last_seen, *str_layout, *str_record_length, *str_records, *str_sets;

static inline unsigned read_u16(const unsigned char *p) { return ((unsigned)p[0] << 8) | p[1]; }

/* The framing rule of wire.split_sets: 0 when the sets between start and end parse (zero fill
 * after the last set allowed), -1 when split_sets would raise. */
static int framing_ok(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end) {
    Py_ssize_t offset = start;
    while (end - offset >= 4) {
        unsigned length = read_u16(buf + offset + 2);
        if (length < 4) {
            for (Py_ssize_t i = offset; i < end; i++)
                if (buf[i]) return -1;
            return 0;
        }
        if (offset + (Py_ssize_t)length > end) return -1;
        offset += length;
    }
    return 0;
}

static int get_range(PyObject *payload, Py_buffer *view, Py_ssize_t start, Py_ssize_t end) {
    if (PyObject_GetBuffer(payload, view, PyBUF_SIMPLE) < 0) return -1;
    if (start < 0 || end < start || end > view->len) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "set range outside the payload");
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(framing_doc,
             "framing_ok(payload, start, end, /) -> bool\n\n"
             "Whether wire.split_sets(payload, start, end) would succeed.");

static PyObject *py_framing_ok(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "framing_ok expects 3 arguments");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    if (PyErr_Occurred()) return NULL;
    Py_buffer view;
    if (get_range(args[0], &view, start, end) < 0) return NULL;
    int ok = framing_ok((const unsigned char *)view.buf, start, end) == 0;
    PyBuffer_Release(&view);
    return PyBool_FromLong(ok);
}

typedef struct {
    PyObject *group; /* borrowed from the groups dict */
    Py_ssize_t body;
    Py_ssize_t bytes;
    int64_t count;
    int64_t template_id;
} Pending;

static int append_bytes(PyObject *target, const void *data, Py_ssize_t size) {
    if (!PyByteArray_Check(target)) {
        PyErr_SetString(PyExc_TypeError, "group buffers must be bytearrays");
        return -1;
    }
    Py_ssize_t before = PyByteArray_GET_SIZE(target);
    if (PyByteArray_Resize(target, before + size) < 0) return -1;
    memcpy(PyByteArray_AS_STRING(target) + before, data, (size_t)size);
    return 0;
}

/* The (set-level) record length of an ActiveTemplate usable here, or -1 to decline, -2 on error. */
static Py_ssize_t usable_layout(PyObject *active, double now, double lifetime, PyObject **layout_out) {
    PyObject *seen = PyObject_GetAttr(active, str_last_seen);
    if (seen == NULL) return -2;
    double last_seen = PyFloat_AsDouble(seen);
    Py_DECREF(seen);
    if (last_seen == -1.0 && PyErr_Occurred()) return -2;
    if (now - last_seen > lifetime) return -1; /* expired: the registry must see it */
    PyObject *layout = PyObject_GetAttr(active, str_layout);
    if (layout == NULL) return -2;
    if (layout == Py_None) {
        Py_DECREF(layout);
        return -1; /* variable-length or options template */
    }
    PyObject *length = PyObject_GetAttr(layout, str_record_length);
    if (length == NULL) {
        Py_DECREF(layout);
        return -2;
    }
    Py_ssize_t size = PyLong_AsSsize_t(length);
    Py_DECREF(length);
    if (size < 0) {
        Py_DECREF(layout);
        return PyErr_Occurred() ? -2 : -1;
    }
    *layout_out = layout; /* new reference */
    return size;
}

PyDoc_STRVAR(gather_doc,
             "gather(payload, start, end, version, templates, now, lifetime, groups, ctx, /) -> int\n\n"
             "Append the records of every data set between start and end to their layout's group\n"
             "(groups: layout -> object with bytearrays `records` and `sets`; a set adds native int64\n"
             "(count, ctx, template id) to `sets`).  Returns the number of records, or -1 without\n"
             "changing anything when the datagram needs the Python path.");

static PyObject *py_gather(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "gather expects 9 arguments");
        return NULL;
    }
    Py_ssize_t start = PyLong_AsSsize_t(args[1]), end = PyLong_AsSsize_t(args[2]);
    long version = PyLong_AsLong(args[3]);
    PyObject *templates = args[4];
    double now = PyFloat_AsDouble(args[5]);
    double lifetime = PyFloat_AsDouble(args[6]);
    PyObject *groups = args[7];
    long long ctx = PyLong_AsLongLong(args[8]);
    if (PyErr_Occurred()) return NULL;
    if (!PyDict_Check(templates) || !PyDict_Check(groups)) {
        PyErr_SetString(PyExc_TypeError, "templates and groups must be dicts");
        return NULL;
    }
    unsigned template_set = version == 9 ? 0 : 2, options_set = version == 9 ? 1 : 3;
    Py_buffer view;
    if (get_range(args[0], &view, start, end) < 0) return NULL;
    const unsigned char *buf = (const unsigned char *)view.buf;

    Pending pending[MAX_SETS];
    int npending = 0;
    long long records = 0;
    int decline = 0;
    Py_ssize_t offset = start;
    /* Pass 1: check every set and find where its records go; nothing is changed yet. */
    while (end - offset >= 4) {
        unsigned set_id = read_u16(buf + offset), length = read_u16(buf + offset + 2);
        if (length < 4) {
            for (Py_ssize_t i = offset; i < end; i++)
                if (buf[i]) {
                    decline = 1; /* malformed: Python raises and counts it */
                    break;
                }
            break;
        }
        if (offset + (Py_ssize_t)length > end) {
            decline = 1;
            break;
        }
        Py_ssize_t body = offset + 4, body_end = offset + length;
        if (set_id >= MIN_DATA_SET_ID) {
            PyObject *key = PyLong_FromUnsignedLong(set_id);
            if (key == NULL) goto error;
            PyObject *active = PyDict_GetItemWithError(templates, key); /* borrowed */
            Py_DECREF(key);
            if (active == NULL) {
                if (PyErr_Occurred()) goto error;
                decline = 1; /* unknown template: it waits in Python's pending buffer */
                break;
            }
            PyObject *layout = NULL;
            Py_ssize_t size = usable_layout(active, now, lifetime, &layout);
            if (size == -2) goto error;
            if (size == -1) {
                decline = 1;
                break;
            }
            PyObject *group = PyDict_GetItemWithError(groups, layout); /* borrowed */
            Py_DECREF(layout); /* the groups dict keeps its key alive */
            if (group == NULL) {
                if (PyErr_Occurred()) goto error;
                decline = 1; /* first set of this layout in the batch: Python creates its group */
                break;
            }
            int64_t count = size ? (int64_t)((body_end - body) / size) : 0;
            if (count) {
                if (npending == MAX_SETS) {
                    decline = 1;
                    break;
                }
                pending[npending].group = group;
                pending[npending].body = body;
                pending[npending].bytes = (Py_ssize_t)count * size;
                pending[npending].count = count;
                pending[npending].template_id = set_id;
                npending++;
            }
            records += count;
        } else if (set_id == template_set || set_id == options_set) {
            decline = 1; /* templates are learned in Python */
            break;
        }
        /* other set ids are reserved: skipped, as in Python */
        offset = body_end;
    }
    if (decline) {
        PyBuffer_Release(&view);
        return PyLong_FromLong(-1);
    }
    /* Pass 2: append.  Only an allocation failure can stop it (raised as MemoryError). */
    for (int i = 0; i < npending; i++) {
        Pending *p = &pending[i];
        PyObject *target = PyObject_GetAttr(p->group, str_records);
        if (target == NULL) goto error;
        int failed = append_bytes(target, buf + p->body, p->bytes);
        Py_DECREF(target);
        if (failed) goto error;
        int64_t entry[3] = {p->count, (int64_t)ctx, p->template_id};
        target = PyObject_GetAttr(p->group, str_sets);
        if (target == NULL) goto error;
        failed = append_bytes(target, entry, sizeof entry);
        Py_DECREF(target);
        if (failed) goto error;
    }
    PyBuffer_Release(&view);
    return PyLong_FromLongLong(records);
error:
    PyBuffer_Release(&view);
    return NULL;
}

/* -- addresses as text ---------------------------------------------------------------------- */

static const char HEXDIGITS[] = "0123456789abcdef";

static int write_decimal(char *out, unsigned value) {
    if (value >= 100) {
        out[0] = (char)('0' + value / 100);
        out[1] = (char)('0' + value / 10 % 10);
        out[2] = (char)('0' + value % 10);
        return 3;
    }
    if (value >= 10) {
        out[0] = (char)('0' + value / 10);
        out[1] = (char)('0' + value % 10);
        return 2;
    }
    out[0] = (char)('0' + value);
    return 1;
}

static int write_hextet(char *out, unsigned value) {
    int n = 0;
    int started = 0;
    for (int shift = 12; shift >= 0; shift -= 4) {
        unsigned digit = (value >> shift) & 0xF;
        if (digit || started || shift == 0) {
            out[n++] = HEXDIGITS[digit];
            started = 1;
        }
    }
    return n;
}

/* One 16-byte address as `cenflow.flow.batch.address_text` writes it; returns its length
 * (at most 39 characters). */
static int format_address(const unsigned char *a, char *out) {
    static const unsigned char mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (memcmp(a, mapped_prefix, 12) == 0) {
        int n = 0;
        for (int i = 12; i < 16; i++) {
            n += write_decimal(out + n, a[i]);
            if (i < 15) out[n++] = '.';
        }
        return n;
    }
    unsigned hextets[8];
    for (int i = 0; i < 8; i++) hextets[i] = read_u16(a + 2 * i);
    /* RFC 5952 as Python's ipaddress does it: the first longest run of >= 2 zero hextets. */
    int best_start = -1, best_length = 0;
    for (int i = 0; i < 8;) {
        if (hextets[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && hextets[j] == 0) j++;
        if (j - i > best_length) {
            best_start = i;
            best_length = j - i;
        }
        i = j;
    }
    if (best_length < 2) best_start = -1;
    int n = 0;
    for (int i = 0; i < 8; i++) {
        if (i == best_start) {
            out[n++] = ':';
            out[n++] = ':';
            i += best_length - 1;
            continue;
        }
        if (n && out[n - 1] != ':') out[n++] = ':';
        n += write_hextet(out + n, hextets[i]);
    }
    return n;
}

PyDoc_STRVAR(address_texts_doc,
             "address_texts(values, /) -> tuple[bytes, bytes]\n\n"
             "16-byte addresses (a C-contiguous buffer of n*16 bytes) as text: (offsets, data), the\n"
             "int32 offsets and UTF-8 data buffers of an Arrow string array.");

static PyObject *py_address_texts(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_C_CONTIGUOUS) < 0) return NULL;
    if (view.len % 16) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "addresses must be 16 bytes each");
        return NULL;
    }
    Py_ssize_t n = view.len / 16;
    if (n > (Py_ssize_t)(INT32_MAX / 40)) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_OverflowError, "too many addresses for int32 offsets");
        return NULL;
    }
    PyObject *offsets = PyBytes_FromStringAndSize(NULL, (n + 1) * (Py_ssize_t)sizeof(int32_t));
    char *text = PyMem_Malloc((size_t)(n ? n : 1) * 40);
    if (offsets == NULL || text == NULL) {
        Py_XDECREF(offsets);
        PyMem_Free(text);
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    int32_t *offs = (int32_t *)PyBytes_AS_STRING(offsets);
    const unsigned char *src = (const unsigned char *)view.buf;
    int32_t position = 0;
    Py_BEGIN_ALLOW_THREADS;
    for (Py_ssize_t i = 0; i < n; i++) {
        offs[i] = position;
        position += format_address(src + 16 * i, text + position);
    }
    offs[n] = position;
    Py_END_ALLOW_THREADS;
    PyBuffer_Release(&view);
    PyObject *data = PyBytes_FromStringAndSize(text, position);
    PyMem_Free(text);
    if (data == NULL) {
        Py_DECREF(offsets);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, offsets, data);
    Py_DECREF(offsets);
    Py_DECREF(data);
    return result;
}

static PyMethodDef methods[] = {
    {"framing_ok", (PyCFunction)(void (*)(void))py_framing_ok, METH_FASTCALL, framing_doc},
    {"gather", (PyCFunction)(void (*)(void))py_gather, METH_FASTCALL, gather_doc},
    {"address_texts", py_address_texts, METH_O, address_texts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_speedups", "C hot loops of the flow decoder (see _speedups.c).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__speedups(void) {
    str_last_seen = PyUnicode_InternFromString("last_seen");
    str_layout = PyUnicode_InternFromString("layout");
    str_record_length = PyUnicode_InternFromString("record_length");
    str_records = PyUnicode_InternFromString("records");
    str_sets = PyUnicode_InternFromString("sets");
    if (!str_last_seen || !str_layout || !str_record_length || !str_records || !str_sets) return NULL;
    return PyModule_Create(&module);
}
