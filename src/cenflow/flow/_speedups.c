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
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* recvmmsg */
#endif
#include <Python.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

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

/* Pass 1 over the sets of one message: where each set's records go.  Returns the number of
 * records, -1 to decline (nothing changed), -2 on a Python error.  Fills `pending`. */
static long long plan_sets(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end, long version,
                           PyObject *templates, double now, double lifetime, PyObject *groups, Pending *pending,
                           int *npending_out) {
    unsigned template_set = version == 9 ? 0 : 2, options_set = version == 9 ? 1 : 3;
    int npending = 0;
    long long records = 0;
    Py_ssize_t offset = start;
    while (end - offset >= 4) {
        unsigned set_id = read_u16(buf + offset), length = read_u16(buf + offset + 2);
        if (length < 4) {
            for (Py_ssize_t i = offset; i < end; i++)
                if (buf[i]) return -1; /* malformed: Python raises and counts it */
            break;
        }
        if (offset + (Py_ssize_t)length > end) return -1;
        Py_ssize_t body = offset + 4, body_end = offset + length;
        if (set_id >= MIN_DATA_SET_ID) {
            PyObject *key = PyLong_FromUnsignedLong(set_id);
            if (key == NULL) return -2;
            PyObject *active = PyDict_GetItemWithError(templates, key); /* borrowed */
            Py_DECREF(key);
            if (active == NULL) return PyErr_Occurred() ? -2 : -1; /* unknown: Python's pending buffer */
            PyObject *layout = NULL;
            Py_ssize_t size = usable_layout(active, now, lifetime, &layout);
            if (size < 0) return size;
            PyObject *group = PyDict_GetItemWithError(groups, layout); /* borrowed */
            Py_DECREF(layout); /* the groups dict keeps its key alive */
            if (group == NULL) return PyErr_Occurred() ? -2 : -1; /* Python creates the group */
            int64_t count = size ? (int64_t)((body_end - body) / size) : 0;
            if (count) {
                if (npending == MAX_SETS) return -1;
                pending[npending].group = group;
                pending[npending].body = body;
                pending[npending].bytes = (Py_ssize_t)count * size;
                pending[npending].count = count;
                pending[npending].template_id = set_id;
                npending++;
            }
            records += count;
        } else if (set_id == template_set || set_id == options_set) {
            return -1; /* templates are learned in Python */
        }
        /* other set ids are reserved: skipped, as in Python */
        offset = body_end;
    }
    *npending_out = npending;
    return records;
}

/* Pass 2: append what plan_sets found.  Only an allocation failure stops it (-1, raised). */
static int apply_sets(const unsigned char *buf, const Pending *pending, int npending, long long ctx) {
    for (int i = 0; i < npending; i++) {
        const Pending *p = &pending[i];
        PyObject *target = PyObject_GetAttr(p->group, str_records);
        if (target == NULL) return -1;
        int failed = append_bytes(target, buf + p->body, p->bytes);
        Py_DECREF(target);
        if (failed) return -1;
        int64_t entry[3] = {p->count, (int64_t)ctx, p->template_id};
        target = PyObject_GetAttr(p->group, str_sets);
        if (target == NULL) return -1;
        failed = append_bytes(target, entry, sizeof entry);
        Py_DECREF(target);
        if (failed) return -1;
    }
    return 0;
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
    double now = PyFloat_AsDouble(args[5]);
    double lifetime = PyFloat_AsDouble(args[6]);
    long long ctx = PyLong_AsLongLong(args[8]);
    if (PyErr_Occurred()) return NULL;
    if (!PyDict_Check(args[4]) || !PyDict_Check(args[7])) {
        PyErr_SetString(PyExc_TypeError, "templates and groups must be dicts");
        return NULL;
    }
    Py_buffer view;
    if (get_range(args[0], &view, start, end) < 0) return NULL;
    const unsigned char *buf = (const unsigned char *)view.buf;
    Pending pending[MAX_SETS];
    int npending = 0;
    long long records = plan_sets(buf, start, end, version, args[4], now, lifetime, args[7], pending, &npending);
    if (records >= 0 && apply_sets(buf, pending, npending, ctx) < 0) records = -2;
    PyBuffer_Release(&view);
    if (records == -2) return NULL;
    return PyLong_FromLongLong(records);
}

/* -- whole runs of datagrams ---------------------------------------------------------------- */

#define STATE_LATE 1
#define STATE_RESTART 2

static inline uint32_t read_u32(const unsigned char *p) {
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static PyObject *str_stream, *str_sequence, *str_check, *str_account, *str_templates, *str_ctx_stream,
    *str_ctx_export, *str_ctx_uptime, *str_ctx_rate, *str_streams, *str_stream_slots;

/* Call obj.name(*args) (new reference). */
static PyObject *call_method(PyObject *obj, PyObject *name, PyObject **args, size_t nargs) {
    PyObject *stack[8];
    stack[0] = obj;
    for (size_t i = 0; i < nargs; i++) stack[i + 1] = args[i];
    return PyObject_VectorcallMethod(name, stack, (nargs + 1) | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
}

static int append_long(PyObject *list, long long value) {
    PyObject *number = PyLong_FromLongLong(value);
    if (number == NULL) return -1;
    int failed = PyList_Append(list, number);
    Py_DECREF(number);
    return failed;
}

/* The slot of `stream` in the sink's stream table, as ColumnSink.context assigns it. */
static Py_ssize_t stream_slot(PyObject *slots, PyObject *streams, PyObject *stream) {
    PyObject *key = PyLong_FromVoidPtr(stream); /* id(stream) */
    if (key == NULL) return -1;
    PyObject *slot = PyDict_GetItemWithError(slots, key);
    Py_ssize_t result;
    if (slot != NULL) {
        result = PyLong_AsSsize_t(slot);
    } else if (PyErr_Occurred()) {
        result = -1;
    } else {
        result = PyList_GET_SIZE(streams);
        PyObject *value = PyLong_FromSsize_t(result);
        if (value == NULL || PyDict_SetItem(slots, key, value) < 0 || PyList_Append(streams, stream) < 0)
            result = -1;
        Py_XDECREF(value);
    }
    Py_DECREF(key);
    return result;
}

PyDoc_STRVAR(decode_run_doc,
             "decode_run(datagrams, first, now, registry, lifetime, sink, /) -> tuple\n\n"
             "FlowDecoder._templated + _commit for datagrams[first:], in order, while they are common\n"
             "v9/IPFIX datagrams (see gather).  Stream lookup and sequence accounting call the same\n"
             "Python methods (registry.stream, SequenceState.check/account).  Returns (next, done, late,\n"
             "gaps, lost, resume): datagrams[next] needs Python; resume is None when nothing of it was\n"
             "processed, else (stream, state, version, export_ms, uptime_ms, sequence, start, end) once\n"
             "its stream is open and its sequence number checked (RESTART, or sets C declines).");

static PyObject *py_decode_run(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError, "decode_run expects 6 arguments");
        return NULL;
    }
    PyObject *datagrams = args[0], *now_obj = args[2], *registry = args[3], *sink = args[5];
    Py_ssize_t first = PyLong_AsSsize_t(args[1]);
    double now = PyFloat_AsDouble(now_obj);
    double lifetime = PyFloat_AsDouble(args[4]);
    if (PyErr_Occurred()) return NULL;
    if (!PyList_Check(datagrams)) {
        PyErr_SetString(PyExc_TypeError, "datagrams must be a list");
        return NULL;
    }
    PyObject *groups = PyObject_GetAttrString(sink, "groups");
    PyObject *ctx_stream = PyObject_GetAttr(sink, str_ctx_stream);
    PyObject *ctx_export = PyObject_GetAttr(sink, str_ctx_export);
    PyObject *ctx_uptime = PyObject_GetAttr(sink, str_ctx_uptime);
    PyObject *ctx_rate = PyObject_GetAttr(sink, str_ctx_rate);
    PyObject *streams = PyObject_GetAttr(sink, str_streams);
    PyObject *slots = PyObject_GetAttr(sink, str_stream_slots);
    PyObject *prev_key = NULL, *stream = NULL, *sequence_state = NULL, *templates = NULL, *resume = NULL;
    PyObject *result = NULL;
    Py_ssize_t slot = -1;
    long long done = 0, late = 0, gaps = 0, lost_total = 0;
    Py_ssize_t i = first;
    if (!groups || !ctx_stream || !ctx_export || !ctx_uptime || !ctx_rate || !streams || !slots) goto finally;
    if (!PyDict_Check(groups) || !PyDict_Check(slots) || !PyList_Check(ctx_stream) || !PyList_Check(ctx_export) ||
        !PyList_Check(ctx_uptime) || !PyList_Check(ctx_rate) || !PyList_Check(streams)) {
        PyErr_SetString(PyExc_TypeError, "unexpected sink layout");
        goto finally;
    }
    for (; i < PyList_GET_SIZE(datagrams); i++) {
        PyObject *item = PyList_GET_ITEM(datagrams, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) < 3) break;
        PyObject *payload = PyTuple_GET_ITEM(item, 0);
        if (!PyBytes_Check(payload)) break;
        const unsigned char *buf = (const unsigned char *)PyBytes_AS_STRING(payload);
        Py_ssize_t size = PyBytes_GET_SIZE(payload);
        if (size < 2) break;
        long version = (long)read_u16(buf);
        long long export_ms, uptime_ms;
        uint32_t seq, domain;
        Py_ssize_t start, end;
        if (version == 9) {
            if (size < 20) break;
            uptime_ms = read_u32(buf + 4);
            export_ms = (long long)read_u32(buf + 8) * 1000;
            seq = read_u32(buf + 12);
            domain = read_u32(buf + 16);
            start = 20;
            end = size;
        } else if (version == 10) {
            if (size < 16) break;
            Py_ssize_t length = read_u16(buf + 2);
            if (length < 16 || length > size) break;
            uptime_ms = -1;
            export_ms = (long long)read_u32(buf + 4) * 1000;
            seq = read_u32(buf + 8);
            domain = read_u32(buf + 12);
            start = 16;
            end = length;
        } else {
            break;
        }
        if (framing_ok(buf, start, end) < 0) break;

        /* registry.stream(key, now), skipped when the key repeats: the stream is then already the
         * most recent one and its last_seen is `now` (nothing else touches the registry here). */
        PyObject *key = Py_BuildValue("(OOlk)", PyTuple_GET_ITEM(item, 1), PyTuple_GET_ITEM(item, 2), version,
                                      (unsigned long)domain);
        if (key == NULL) goto finally;
        int same = 0;
        if (prev_key != NULL) {
            same = PyObject_RichCompareBool(key, prev_key, Py_EQ);
            if (same < 0) {
                Py_DECREF(key);
                goto finally;
            }
        }
        if (!same) {
            Py_XDECREF(prev_key);
            prev_key = key;
            Py_CLEAR(stream);
            Py_CLEAR(sequence_state);
            Py_CLEAR(templates);
            slot = -1;
            PyObject *call_args[2] = {key, now_obj};
            stream = call_method(registry, str_stream, call_args, 2);
            if (stream == NULL) goto finally;
            sequence_state = PyObject_GetAttr(stream, str_sequence);
            if (sequence_state == NULL) goto finally;
        } else {
            Py_DECREF(key);
        }
        PyObject *seq_obj = PyLong_FromUnsignedLong(seq);
        PyObject *export_obj = PyLong_FromLongLong(export_ms);
        PyObject *uptime_obj = PyLong_FromLongLong(uptime_ms);
        if (!seq_obj || !export_obj || !uptime_obj) {
            Py_XDECREF(seq_obj);
            Py_XDECREF(export_obj);
            Py_XDECREF(uptime_obj);
            goto finally;
        }
        PyObject *check_args[3] = {seq_obj, export_obj, uptime_obj};
        PyObject *state_obj = call_method(sequence_state, str_check, check_args, 3);
        long state = state_obj ? PyLong_AsLong(state_obj) : -1;
        Py_XDECREF(state_obj);
        if (state == -1 && PyErr_Occurred()) goto release_numbers;

        long long records = -1;
        Pending pending[MAX_SETS];
        int npending = 0;
        if (state != STATE_RESTART) {
            if (templates == NULL) {
                templates = PyObject_GetAttr(stream, str_templates);
                if (templates == NULL) goto release_numbers;
                if (!PyDict_Check(templates)) {
                    PyErr_SetString(PyExc_TypeError, "stream.templates must be a dict");
                    goto release_numbers;
                }
            }
            records = plan_sets(buf, start, end, version, templates, now, lifetime, groups, pending, &npending);
            if (records == -2) goto release_numbers;
        }
        if (records < 0) { /* restart or declined sets: Python carries on from here */
            resume = Py_BuildValue("(OllOOOnn)", stream, state, version, export_obj, uptime_obj, seq_obj, start, end);
            Py_DECREF(seq_obj);
            Py_DECREF(export_obj);
            Py_DECREF(uptime_obj);
            if (resume == NULL) goto finally;
            break;
        }
        if (slot < 0) {
            slot = stream_slot(slots, streams, stream);
            if (slot < 0) goto release_numbers;
        }
        long long ctx = PyList_GET_SIZE(ctx_stream);
        if (append_long(ctx_stream, slot) < 0 || PyList_Append(ctx_export, export_obj) < 0 ||
            PyList_Append(ctx_uptime, uptime_obj) < 0 || append_long(ctx_rate, 0) < 0)
            goto release_numbers;
        if (apply_sets(buf, pending, npending, ctx) < 0) goto release_numbers;
        if (state == STATE_LATE) {
            late++;
        } else {
            PyObject *units = PyLong_FromLongLong(version == 9 ? 1 : records);
            if (units == NULL) goto release_numbers;
            PyObject *account_args[4] = {seq_obj, units, export_obj, uptime_obj};
            PyObject *lost_obj = call_method(sequence_state, str_account, account_args, 4);
            Py_DECREF(units);
            if (lost_obj == NULL) goto release_numbers;
            long long lost = PyLong_AsLongLong(lost_obj);
            Py_DECREF(lost_obj);
            if (lost == -1 && PyErr_Occurred()) goto release_numbers;
            if (lost) {
                gaps++;
                lost_total += lost;
            }
        }
        Py_DECREF(seq_obj);
        Py_DECREF(export_obj);
        Py_DECREF(uptime_obj);
        done++;
        continue;
    release_numbers:
        Py_DECREF(seq_obj);
        Py_DECREF(export_obj);
        Py_DECREF(uptime_obj);
        goto finally;
    }
    result = Py_BuildValue("(nLLLLO)", i, done, late, gaps, lost_total, resume ? resume : Py_None);
finally:
    Py_XDECREF(resume);
    Py_XDECREF(prev_key);
    Py_XDECREF(stream);
    Py_XDECREF(sequence_state);
    Py_XDECREF(templates);
    Py_XDECREF(groups);
    Py_XDECREF(ctx_stream);
    Py_XDECREF(ctx_export);
    Py_XDECREF(ctx_uptime);
    Py_XDECREF(ctx_rate);
    Py_XDECREF(streams);
    Py_XDECREF(slots);
    return result;
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

/* -- window aggregation -------------------------------------------------------------------- */

static inline uint64_t mix_key(const unsigned char *key, Py_ssize_t width) {
    uint64_t digest = 0;
    Py_ssize_t i = 0;
    for (; i + 8 <= width; i += 8) {
        uint64_t word;
        memcpy(&word, key + i, 8);
        digest ^= word;
        digest *= 0x9E3779B97F4A7C15ULL;
        digest ^= digest >> 29;
    }
    if (i < width) {
        uint64_t word = 0;
        memcpy(&word, key + i, (size_t)(width - i));
        digest ^= word;
        digest *= 0x9E3779B97F4A7C15ULL;
        digest ^= digest >> 29;
    }
    return digest;
}

typedef struct {
    uint32_t check; /* high half of the key's hash */
    uint32_t group; /* group + 1; 0: empty */
} Slot;

#define PREFETCH_AHEAD 8 /* rows whose slots are fetched ahead: hides the table's cache misses */

PyDoc_STRVAR(aggregate_doc,
             "aggregate(parts, width, /) -> tuple[bytearray, bytearray, bytearray, bytearray]\n\n"
             "parts: a sequence of (keys, packets, octets, flags) buffers, rows of one window in order.\n"
             "One row per distinct key (`width` bytes each), in order of first appearance: packets and\n"
             "octets (native uint64) summed modulo 2**64, flags (native uint16) OR'd.  The parts are\n"
             "read where they are (no concatenation), and the hash pass runs without the GIL.");

/* Scratch memory kept between calls: fresh multi-megabyte allocations cost a page fault per
 * 4 KiB, more than the hashing itself.  Kept only up to SCRATCH_KEEP_ROWS rows (20 MiB); larger
 * calls, and a call while another thread holds the scratch (the GIL is released while hashing),
 * allocate and free their own. */
#define SCRATCH_KEEP_ROWS ((size_t)1 << 20)
static Slot *scratch_table;
static const unsigned char **scratch_first;
static PyThread_type_lock scratch_lock;

/* 1: the kept scratch (release scratch_lock after), 0: own allocations (free them), -1: no memory. */
static int scratch_for(size_t rows, size_t slots, Slot **table, const unsigned char ***first) {
    if (rows <= SCRATCH_KEEP_ROWS && PyThread_acquire_lock(scratch_lock, NOWAIT_LOCK)) {
        if (scratch_table == NULL) {
            /* Sized once for the largest kept case: 2 slots per row, rounded to a power of two. */
            scratch_table = PyMem_RawMalloc(2 * SCRATCH_KEEP_ROWS * sizeof(Slot));
            scratch_first = PyMem_RawMalloc(SCRATCH_KEEP_ROWS * sizeof(*scratch_first));
            if (scratch_table == NULL || scratch_first == NULL) {
                PyMem_RawFree(scratch_table);
                PyMem_RawFree(scratch_first);
                scratch_table = NULL;
                scratch_first = NULL;
                PyThread_release_lock(scratch_lock);
                return -1;
            }
        }
        *table = scratch_table;
        *first = scratch_first;
        return 1;
    }
    *table = PyMem_RawMalloc(slots * sizeof(Slot));
    *first = PyMem_RawMalloc((rows ? rows : 1) * sizeof(**first));
    if (*table && *first) return 0;
    PyMem_RawFree(*table);
    PyMem_RawFree(*first);
    return -1;
}

typedef struct {
    const unsigned char *keys;
    const uint64_t *packets, *octets;
    const uint16_t *flags;
    Py_ssize_t rows;
} Part;

/* The hash pass over every part (no Python objects touched: runs without the GIL). */
static Py_ssize_t hash_parts(const Part *parts, Py_ssize_t nparts, Py_ssize_t width, Slot *table, size_t capacity,
                             const unsigned char **first, uint64_t *sum_packets, uint64_t *sum_octets,
                             uint16_t *or_flags) {
    Py_ssize_t groups = 0;
    for (Py_ssize_t p = 0; p < nparts; p++) {
        const unsigned char *key_bytes = parts[p].keys;
        const uint64_t *in_packets = parts[p].packets, *in_octets = parts[p].octets;
        const uint16_t *in_flags = parts[p].flags;
        Py_ssize_t n = parts[p].rows;
        for (Py_ssize_t row = 0; row < n; row++) {
            if (row + PREFETCH_AHEAD < n) {
                uint64_t ahead = mix_key(key_bytes + (row + PREFETCH_AHEAD) * width, width);
                __builtin_prefetch(&table[(size_t)ahead & (capacity - 1)]);
            }
            const unsigned char *key = key_bytes + row * width;
            uint64_t hash = mix_key(key, width);
            size_t slot = (size_t)hash & (capacity - 1);
            uint32_t check = (uint32_t)(hash >> 32);
            for (;;) {
                Slot *entry = &table[slot];
                if (entry->group == 0) { /* a new key */
                    Py_ssize_t group = groups++;
                    entry->group = (uint32_t)(group + 1);
                    entry->check = check;
                    first[group] = key;
                    sum_packets[group] = in_packets[row];
                    sum_octets[group] = in_octets[row];
                    or_flags[group] = in_flags[row];
                    break;
                }
                if (entry->check == check && memcmp(first[entry->group - 1], key, (size_t)width) == 0) {
                    Py_ssize_t group = (Py_ssize_t)entry->group - 1;
                    sum_packets[group] += in_packets[row];
                    sum_octets[group] += in_octets[row];
                    or_flags[group] |= in_flags[row];
                    break;
                }
                slot = (slot + 1) & (capacity - 1);
            }
        }
    }
    return groups;
}

static PyObject *py_aggregate(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "aggregate expects 2 arguments");
        return NULL;
    }
    Py_ssize_t width = PyLong_AsSsize_t(args[1]);
    if (width == -1 && PyErr_Occurred()) return NULL;
    if (width <= 0) {
        PyErr_SetString(PyExc_ValueError, "key width must be positive");
        return NULL;
    }
    PyObject *sequence = PySequence_Fast(args[0], "parts must be a sequence of 4-tuples of buffers");
    if (sequence == NULL) return NULL;
    Py_ssize_t nparts = PySequence_Fast_GET_SIZE(sequence);
    Py_buffer *buffers = PyMem_Calloc((size_t)(nparts ? nparts : 1) * 4, sizeof(Py_buffer));
    Part *parts = PyMem_Calloc((size_t)(nparts ? nparts : 1), sizeof(Part));
    Py_ssize_t held = 0, n = 0;
    PyObject *result = NULL, *keys_out = NULL, *packets_out = NULL, *octets_out = NULL, *flags_out = NULL;
    Slot *table = NULL;
    const unsigned char **first = NULL; /* group -> its first key */
    int kept = -1;
    if (buffers == NULL || parts == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t p = 0; p < nparts; p++) {
        PyObject *item = PySequence_Fast_GET_ITEM(sequence, p);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4) {
            PyErr_SetString(PyExc_TypeError, "each part must be a (keys, packets, octets, flags) tuple");
            goto done;
        }
        for (int column = 0; column < 4; column++, held++)
            if (PyObject_GetBuffer(PyTuple_GET_ITEM(item, column), &buffers[held], PyBUF_C_CONTIGUOUS) < 0) goto done;
        Py_buffer *b = &buffers[4 * p];
        Py_ssize_t rows = b[0].len / width;
        if (b[0].len % width || b[1].len != rows * 8 || b[2].len != rows * 8 || b[3].len != rows * 2) {
            PyErr_SetString(PyExc_ValueError, "keys, packets, octets and flags must describe the same rows");
            goto done;
        }
        parts[p] = (Part){b[0].buf, b[1].buf, b[2].buf, b[3].buf, rows};
        n += rows;
    }
    if (n >= (Py_ssize_t)UINT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "too many rows to aggregate at once");
        goto done;
    }
    size_t capacity = 16;
    while (capacity < (size_t)n * 2) capacity <<= 1;
    kept = scratch_for((size_t)n, capacity, &table, &first);
    if (kept < 0) {
        PyErr_NoMemory();
        goto done;
    }
    /* Sums go straight into the outputs, sized for n groups and cut to the real count after. */
    packets_out = PyByteArray_FromStringAndSize(NULL, n * 8);
    octets_out = PyByteArray_FromStringAndSize(NULL, n * 8);
    flags_out = PyByteArray_FromStringAndSize(NULL, n * 2);
    if (!packets_out || !octets_out || !flags_out) goto done;
    uint64_t *sum_packets = (uint64_t *)PyByteArray_AS_STRING(packets_out);
    uint64_t *sum_octets = (uint64_t *)PyByteArray_AS_STRING(octets_out);
    uint16_t *or_flags = (uint16_t *)PyByteArray_AS_STRING(flags_out);
    Py_ssize_t groups;
    Py_BEGIN_ALLOW_THREADS;
    memset(table, 0, capacity * sizeof(Slot));
    groups = hash_parts(parts, nparts, width, table, capacity, first, sum_packets, sum_octets, or_flags);
    Py_END_ALLOW_THREADS;
    if (PyByteArray_Resize(packets_out, groups * 8) < 0 || PyByteArray_Resize(octets_out, groups * 8) < 0 ||
        PyByteArray_Resize(flags_out, groups * 2) < 0)
        goto done;
    keys_out = PyByteArray_FromStringAndSize(NULL, groups * width);
    if (keys_out == NULL) goto done;
    char *out = PyByteArray_AS_STRING(keys_out);
    for (Py_ssize_t group = 0; group < groups; group++) memcpy(out + group * width, first[group], (size_t)width);
    result = PyTuple_Pack(4, keys_out, packets_out, octets_out, flags_out);
done:
    Py_XDECREF(keys_out);
    Py_XDECREF(packets_out);
    Py_XDECREF(octets_out);
    Py_XDECREF(flags_out);
    if (kept == 1) {
        PyThread_release_lock(scratch_lock);
    } else if (kept == 0) {
        PyMem_RawFree(table);
        PyMem_RawFree(first);
    }
    for (Py_ssize_t i = 0; i < held; i++) PyBuffer_Release(&buffers[i]);
    PyMem_Free(buffers);
    PyMem_Free(parts);
    Py_DECREF(sequence);
    return result;
}

/* -- receiving ----------------------------------------------------------------------------- */

#define DRAIN_CHUNK 32        /* datagrams per recvmmsg call */
#define DRAIN_BUFFER 65536    /* bytes per datagram buffer: larger than any UDP payload */
/* DRAIN_CHUNK * DRAIN_BUFFER bytes, allocated on first use and kept; used only with the GIL held. */
static unsigned char *drain_buffers;

PyDoc_STRVAR(drain_udp_doc,
             "drain_udp(fd, max_count, received, out, /) -> int\n\n"
             "Append up to max_count (payload, host, port, received) tuples for the datagrams queued on\n"
             "the IPv4 UDP socket fd, without waiting (recvmmsg, MSG_DONTWAIT); what the Python loop\n"
             "of recvfrom calls gives.  Returns how many were appended; raises OSError on a socket\n"
             "error other than an empty queue or an interrupted call.");

static PyObject *py_drain_udp(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "drain_udp expects 4 arguments");
        return NULL;
    }
    long fd = PyLong_AsLong(args[0]);
    Py_ssize_t max_count = PyLong_AsSsize_t(args[1]);
    PyObject *received = args[2], *out = args[3];
    if (PyErr_Occurred()) return NULL;
    if (!PyList_Check(out)) {
        PyErr_SetString(PyExc_TypeError, "out must be a list");
        return NULL;
    }
    if (drain_buffers == NULL) {
        drain_buffers = PyMem_Malloc((size_t)DRAIN_CHUNK * DRAIN_BUFFER);
        if (drain_buffers == NULL) return PyErr_NoMemory();
    }
    struct mmsghdr messages[DRAIN_CHUNK];
    struct iovec vectors[DRAIN_CHUNK];
    struct sockaddr_in addresses[DRAIN_CHUNK];
    Py_ssize_t appended = 0;
    uint32_t last_address = 0;
    PyObject *last_host = NULL; /* exporters repeat: one str per run of the same address */
    while (appended < max_count) {
        unsigned int want = (unsigned int)(max_count - appended < DRAIN_CHUNK ? max_count - appended : DRAIN_CHUNK);
        memset(messages, 0, sizeof(struct mmsghdr) * want);
        for (unsigned int i = 0; i < want; i++) {
            vectors[i].iov_base = drain_buffers + (size_t)i * DRAIN_BUFFER;
            vectors[i].iov_len = DRAIN_BUFFER;
            messages[i].msg_hdr.msg_iov = &vectors[i];
            messages[i].msg_hdr.msg_iovlen = 1;
            messages[i].msg_hdr.msg_name = &addresses[i];
            messages[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
        }
        /* The GIL stays held: the call never waits (MSG_DONTWAIT), and holding it keeps two
         * threads from sharing drain_buffers. */
        int got = recvmmsg((int)fd, messages, want, MSG_DONTWAIT, NULL);
        if (got < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
            Py_XDECREF(last_host);
            return PyErr_SetFromErrno(PyExc_OSError);
        }
        /* Copy every payload out of drain_buffers before anything that may run Python code (a
         * tuple allocation can start the garbage collector, whose finalizers may switch threads):
         * bytes and str objects are not tracked by the collector. */
        PyObject *payloads[DRAIN_CHUNK];
        int copied = 0;
        for (; copied < got; copied++) {
            payloads[copied] = PyBytes_FromStringAndSize((const char *)vectors[copied].iov_base,
                                                         (Py_ssize_t)messages[copied].msg_len);
            if (payloads[copied] == NULL) break;
        }
        for (int i = 0; i < got; i++) {
            const struct sockaddr_in *address = &addresses[i];
            PyObject *item = NULL;
            if (copied < got) {
                /* an allocation failed: fall through to the cleanup */
            } else if (messages[i].msg_hdr.msg_namelen < sizeof(struct sockaddr_in) ||
                       address->sin_family != AF_INET || (messages[i].msg_hdr.msg_flags & MSG_TRUNC)) {
                PyErr_SetString(PyExc_OSError, "drain_udp: not an IPv4 datagram, or truncated");
            } else {
                if (last_host == NULL || address->sin_addr.s_addr != last_address) {
                    char text[INET_ADDRSTRLEN];
                    Py_CLEAR(last_host);
                    if (inet_ntop(AF_INET, &address->sin_addr, text, sizeof text) != NULL) {
                        last_host = PyUnicode_FromString(text);
                        last_address = address->sin_addr.s_addr;
                    } else {
                        PyErr_SetFromErrno(PyExc_OSError);
                    }
                }
                if (last_host != NULL)
                    item = Py_BuildValue("(OOiO)", payloads[i], last_host, (int)ntohs(address->sin_port), received);
            }
            if (item == NULL || PyList_Append(out, item) < 0) {
                Py_XDECREF(item);
                for (int j = 0; j < copied; j++) Py_DECREF(payloads[j]);
                Py_XDECREF(last_host);
                return NULL;
            }
            Py_DECREF(item);
            appended++;
        }
        for (int j = 0; j < copied; j++) Py_DECREF(payloads[j]);
        if ((unsigned int)got < want) break; /* the queue is empty */
    }
    Py_XDECREF(last_host);
    return PyLong_FromSsize_t(appended);
}

static PyMethodDef methods[] = {
    {"framing_ok", (PyCFunction)(void (*)(void))py_framing_ok, METH_FASTCALL, framing_doc},
    {"gather", (PyCFunction)(void (*)(void))py_gather, METH_FASTCALL, gather_doc},
    {"decode_run", (PyCFunction)(void (*)(void))py_decode_run, METH_FASTCALL, decode_run_doc},
    {"address_texts", py_address_texts, METH_O, address_texts_doc},
    {"aggregate", (PyCFunction)(void (*)(void))py_aggregate, METH_FASTCALL, aggregate_doc},
    {"drain_udp", (PyCFunction)(void (*)(void))py_drain_udp, METH_FASTCALL, drain_udp_doc},
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
    str_stream = PyUnicode_InternFromString("stream");
    str_sequence = PyUnicode_InternFromString("sequence");
    str_check = PyUnicode_InternFromString("check");
    str_account = PyUnicode_InternFromString("account");
    str_templates = PyUnicode_InternFromString("templates");
    str_ctx_stream = PyUnicode_InternFromString("ctx_stream");
    str_ctx_export = PyUnicode_InternFromString("ctx_export");
    str_ctx_uptime = PyUnicode_InternFromString("ctx_uptime");
    str_ctx_rate = PyUnicode_InternFromString("ctx_rate");
    str_streams = PyUnicode_InternFromString("streams");
    str_stream_slots = PyUnicode_InternFromString("_stream_slots");
    if (!str_last_seen || !str_layout || !str_record_length || !str_records || !str_sets || !str_stream ||
        !str_sequence || !str_check || !str_account || !str_templates || !str_ctx_stream || !str_ctx_export ||
        !str_ctx_uptime || !str_ctx_rate || !str_streams || !str_stream_slots)
        return NULL;
    scratch_lock = PyThread_allocate_lock();
    if (scratch_lock == NULL) return PyErr_NoMemory();
    return PyModule_Create(&module);
}
