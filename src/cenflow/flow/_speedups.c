/* cenflow.flow._speedups: the per-datagram hot loops of the flow decoder, in C.
 *
 * The Python decoder (cenflow.flow.decoder / sinks / wire / registry / records) is the
 * reference.  Every function here either produces exactly what the Python path would, or reports
 * that it declines (and then changes nothing), so the caller falls back to Python for that
 * datagram.  A datagram is planned whole before anything changes (pass 1), then applied (pass 2).
 *
 * Beyond data sets of known fixed-length templates, decode_run takes the sets exporters repeat
 * between them (softflowd re-announces every template every 16 datagrams, with its options data):
 *   - a template or options template record byte-identical to the one that defined or last
 *     refreshed the active template (ActiveTemplate.wire: set id + record bytes; equal bytes
 *     parse to an equal definition) is refreshed as TemplateRegistry.learn would: last_seen = now
 *     and one more template_records; when learn would also write the store (persisted_at older
 *     than lifetime / 4) the datagram goes to Python;
 *   - options data of a fixed-length options template, when the sink keeps no options records:
 *     counted, and its effects (records.options_effects, located by ActiveTemplate.effects, see
 *     records.effects_plan) applied to the stream as FlowDecoder._apply_options does.
 * It declines on anything else: malformed framing or template records, a new or changed
 * definition, withdrawals, data of an unknown, expired or variable-length template, options data
 * when the sink keeps options records, a layout the batch has no group for yet.
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

static PyObject *str_last_seen, *str_layout, *str_record_length, *str_records, *str_sets, *str_wire,
    *str_persisted_at, *str_effects, *str_default_rate, *str_sampler_rates, *str_boot_ms, *str_keep_options;

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

#define MAX_REFRESHES 64 /* template records refreshed per datagram; more declines */
#define MAX_EFFECTS 64   /* options records with an effect per datagram; more declines */
#define MAX_SAMPLERS 1024 /* decoder.MAX_SAMPLERS (tests/flow/test_speedups.py checks they agree) */
#define MAX_RATE 0xFFFFFFFFull /* records.MAX_RATE */
#define MAX_TIME_MS (1ull << 53) /* records.MAX_TIME_MS */
/* records.EFFECT_ELEMENTS: samplerId, selectorId, samplingInterval, samplerRandomInterval,
 * samplingPacketInterval, samplingPacketSpace, systemInitTimeMilliseconds. */
enum { E_SAMPLER, E_SELECTOR, E_INTERVAL, E_RANDOM, E_PACKETS, E_SPACE, E_BOOT, N_EFFECT_ELEMENTS };

/* What records.options_effects gives for one record, as decoder._apply_options uses it. */
typedef struct {
    uint64_t sampler; /* valid when has_sampler */
    uint64_t rate;    /* 0: none */
    int64_t boot_ms;  /* -1: none */
    int has_sampler;
} Effect;

/* Everything one datagram's sets do, found before anything is changed (pass 1), so that
 * declining leaves no trace and applying (pass 2) cannot fail on the input. */
typedef struct {
    Pending pending[MAX_SETS];
    int npending;
    PyObject *refreshed[MAX_REFRESHES]; /* active templates to refresh (new references) */
    int nrefreshed;
    Effect effects[MAX_EFFECTS]; /* options records with an effect, in wire order */
    int neffects;
    long long template_records; /* decoder counters.template_records */
    long long options_records;  /* sink.options_seen */
} Plan;

typedef struct {
    PyObject *templates; /* stream.templates */
    PyObject *groups;    /* sink.groups */
    double now, lifetime;
    long version;
    int templates_ok; /* refresh byte-identical (options) template re-announcements */
    int options_ok;   /* options data of fixed-length templates (the sink keeps no records) */
} PlanArgs;

static void plan_init(Plan *plan) {
    plan->npending = plan->nrefreshed = plan->neffects = 0;
    plan->template_records = plan->options_records = 0;
}

/* Empties a plan (it may hold references). */
static void plan_reset(Plan *plan) {
    for (int i = 0; i < plan->nrefreshed; i++) Py_DECREF(plan->refreshed[i]);
    plan_init(plan);
}

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

static int get_double(PyObject *obj, PyObject *name, double *out) {
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) return -1;
    *out = PyFloat_AsDouble(value);
    Py_DECREF(value);
    return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

/* The active template of a set or template record (borrowed), NULL to decline or on error. */
static PyObject *active_template(PyObject *templates, unsigned template_id) {
    PyObject *key = PyLong_FromUnsignedLong(template_id);
    if (key == NULL) return NULL;
    PyObject *active = PyDict_GetItemWithError(templates, key);
    Py_DECREF(key);
    return active;
}

/* 1 when a data set may use `active` (not expired), 0 when the registry must see it, -1 on
 * error.  A template refreshed earlier in the same datagram counts from `now`, as in Python,
 * where the refresh happens before the later set is read. */
static int template_fresh(PyObject *active, const Plan *plan, const PlanArgs *a) {
    double last_seen = a->now;
    int refreshed = 0;
    for (int i = 0; i < plan->nrefreshed && !refreshed; i++) refreshed = plan->refreshed[i] == active;
    if (!refreshed && get_double(active, str_last_seen, &last_seen) < 0) return -1;
    return a->now - last_seen > a->lifetime ? 0 : 1;
}

/* The record length of a fixed-length data layout, -1 to decline, -2 on error. */
static Py_ssize_t layout_size(PyObject *layout) {
    PyObject *length = PyObject_GetAttr(layout, str_record_length);
    if (length == NULL) return -2;
    Py_ssize_t size = PyLong_AsSsize_t(length);
    Py_DECREF(length);
    if (size < 0) return PyErr_Occurred() ? -2 : -1;
    return size;
}

static int plan_data_set(PyObject *layout, Py_ssize_t body, Py_ssize_t body_end, unsigned set_id,
                         const PlanArgs *a, Plan *plan, long long *records) {
    Py_ssize_t size = layout_size(layout);
    if (size < 0) return (int)size;
    PyObject *group = PyDict_GetItemWithError(a->groups, layout); /* borrowed */
    if (group == NULL) return PyErr_Occurred() ? -2 : -1;            /* Python creates the group */
    int64_t count = size ? (int64_t)((body_end - body) / size) : 0;
    if (count) {
        if (plan->npending == MAX_SETS) return -1;
        Pending *p = &plan->pending[plan->npending++];
        p->group = group;
        p->body = body;
        p->bytes = (Py_ssize_t)count * size;
        p->count = count;
        p->template_id = set_id;
    }
    *records += count;
    return 0;
}

static uint64_t read_be(const unsigned char *p, int64_t length) {
    uint64_t value = 0;
    for (int64_t i = 0; i < length; i++) value = value << 8 | p[i];
    return value;
}

/* records.options_effects of one record, given the offsets and lengths of records.effects_plan. */
static Effect record_effect(const unsigned char *record, const int64_t *slots) {
    uint64_t value[N_EFFECT_ELEMENTS];
    int present[N_EFFECT_ELEMENTS];
    for (int k = 0; k < N_EFFECT_ELEMENTS; k++) {
        present[k] = slots[2 * k + 1] > 0;
        value[k] = present[k] ? read_be(record + slots[2 * k], slots[2 * k + 1]) : 0;
    }
    Effect effect = {0, 0, -1, 0};
    if (present[E_SAMPLER] || present[E_SELECTOR]) {
        effect.has_sampler = 1;
        effect.sampler = present[E_SAMPLER] ? value[E_SAMPLER] : value[E_SELECTOR];
    }
    if (value[E_INTERVAL]) {
        effect.rate = value[E_INTERVAL];
    } else if (value[E_RANDOM]) {
        effect.rate = value[E_RANDOM];
    } else if (value[E_PACKETS]) {
        /* max(1, (interval + space) // interval) == 1 + space // interval, without overflow */
        uint64_t skipped = value[E_SPACE] / value[E_PACKETS];
        effect.rate = skipped >= MAX_RATE ? MAX_RATE : skipped + 1;
    }
    if (effect.rate > MAX_RATE) effect.rate = MAX_RATE;
    if (value[E_BOOT] && value[E_BOOT] < MAX_TIME_MS) effect.boot_ms = (int64_t)value[E_BOOT];
    return effect;
}

/* An options data set: its records counted and their effects planned, or -1 to decline. */
static int plan_options_set(PyObject *active, const unsigned char *buf, Py_ssize_t body, Py_ssize_t body_end,
                            const PlanArgs *a, Plan *plan, long long *records) {
    if (!a->options_ok) return -1;
    PyObject *packed = PyObject_GetAttr(active, str_effects);
    if (packed == NULL) return -2;
    int64_t slots[1 + 2 * N_EFFECT_ELEMENTS];
    int usable = PyBytes_Check(packed) && PyBytes_GET_SIZE(packed) == (Py_ssize_t)sizeof slots;
    if (usable) memcpy(slots, PyBytes_AS_STRING(packed), sizeof slots);
    Py_DECREF(packed); /* None: variable-length fields, left to Python */
    if (!usable) return -1;
    int64_t size = slots[0];
    if (size < 0) return -1;
    for (int k = 0; k < N_EFFECT_ELEMENTS; k++) { /* a plan that would read outside a record */
        int64_t offset = slots[1 + 2 * k], length = slots[2 + 2 * k];
        if (length < 0 || length > 8 || offset < 0 || offset > size - length) return -1;
    }
    int64_t count = size ? (int64_t)((body_end - body) / size) : 0;
    for (int64_t r = 0; r < count; r++) {
        Effect effect = record_effect(buf + body + r * size, slots + 1);
        if (!effect.rate && effect.boot_ms < 0) continue;
        if (plan->neffects == MAX_EFFECTS) return -1;
        plan->effects[plan->neffects++] = effect;
    }
    plan->options_records += count;
    *records += count;
    return 0;
}

/* One template record that TemplateRegistry.learn would only refresh: the wire bytes kept with
 * the active template of its id (set id + record) are these, and no store write is due.
 * Anything else (new or changed definition, a write due) declines. */
static int plan_refresh(unsigned set_id, unsigned template_id, const unsigned char *record, Py_ssize_t size,
                        const PlanArgs *a, Plan *plan) {
    if (plan->nrefreshed == MAX_REFRESHES) return -1;
    PyObject *active = active_template(a->templates, template_id);
    if (active == NULL) return PyErr_Occurred() ? -2 : -1;
    PyObject *wire = PyObject_GetAttr(active, str_wire);
    if (wire == NULL) return -2;
    int same = PyBytes_Check(wire) && PyBytes_GET_SIZE(wire) == size + 2 &&
               read_u16((const unsigned char *)PyBytes_AS_STRING(wire)) == set_id &&
               memcmp(PyBytes_AS_STRING(wire) + 2, record, (size_t)size) == 0;
    Py_DECREF(wire);
    if (!same) return -1;
    double persisted_at;
    if (get_double(active, str_persisted_at, &persisted_at) < 0) return -2;
    if (a->now - persisted_at > a->lifetime / 4) return -1; /* learn writes the store: Python */
    Py_INCREF(active);
    plan->refreshed[plan->nrefreshed++] = active;
    plan->template_records++;
    return 0;
}

/* Skips `count` field specifiers (with IPFIX enterprise numbers); -1 when wire._field_list
 * would raise (truncated). */
static int skip_fields(const unsigned char *buf, Py_ssize_t *offset, Py_ssize_t end, unsigned count, int ipfix) {
    Py_ssize_t at = *offset;
    for (unsigned i = 0; i < count; i++) {
        if (end - at < 4) return -1;
        unsigned element = read_u16(buf + at);
        at += 4;
        if (ipfix && (element & 0x8000)) {
            if (end - at < 4) return -1;
            at += 4;
        }
    }
    *offset = at;
    return 0;
}

/* The records of a template set as wire.parse_template_set splits them. */
static int plan_template_set(const unsigned char *buf, Py_ssize_t offset, Py_ssize_t end, unsigned set_id,
                             const PlanArgs *a, Plan *plan) {
    int ipfix = a->version == 10;
    while (end - offset >= 4) {
        Py_ssize_t record = offset;
        unsigned template_id = read_u16(buf + offset), count = read_u16(buf + offset + 2);
        offset += 4;
        if (ipfix && count == 0 && (template_id == 2 || template_id >= MIN_DATA_SET_ID)) return -1; /* withdrawal */
        if (template_id < MIN_DATA_SET_ID) break; /* padding */
        if (count == 0) return -1;                /* a v9 record without fields: no definition */
        if (skip_fields(buf, &offset, end, count, ipfix) < 0) return -1;
        int planned = plan_refresh(set_id, template_id, buf + record, offset - record, a, plan);
        if (planned < 0) return planned;
    }
    return 0;
}

/* The records of an options template set as wire.parse_options_template_set splits them. */
static int plan_options_template_set(const unsigned char *buf, Py_ssize_t offset, Py_ssize_t end, unsigned set_id,
                                     const PlanArgs *a, Plan *plan) {
    int ipfix = a->version == 10;
    while (end - offset >= (ipfix ? 4 : 6)) {
        Py_ssize_t record = offset;
        unsigned template_id = read_u16(buf + offset), count;
        if (ipfix) {
            count = read_u16(buf + offset + 2);
            offset += 4;
            if (count == 0 && (template_id == 3 || template_id >= MIN_DATA_SET_ID)) return -1; /* withdrawal */
            if (template_id < MIN_DATA_SET_ID || end - offset < 2) break;
            unsigned scope = read_u16(buf + offset);
            offset += 2;
            if (scope == 0 || scope > count) return -1; /* Python raises */
        } else {
            unsigned scope_bytes = read_u16(buf + offset + 2), option_bytes = read_u16(buf + offset + 4);
            offset += 6;
            if (template_id < MIN_DATA_SET_ID) break;
            if (scope_bytes % 4 || option_bytes % 4) return -1; /* Python raises */
            count = scope_bytes / 4 + option_bytes / 4;
            if (count == 0) return -1; /* Python withdraws the template */
        }
        if (skip_fields(buf, &offset, end, count, ipfix) < 0) return -1;
        int planned = plan_refresh(set_id, template_id, buf + record, offset - record, a, plan);
        if (planned < 0) return planned;
    }
    return 0;
}

/* A set of a known template: data to its layout's group, or options data. */
static int plan_known_set(PyObject *active, const unsigned char *buf, Py_ssize_t body, Py_ssize_t body_end,
                          unsigned set_id, const PlanArgs *a, Plan *plan, long long *records) {
    int fresh = template_fresh(active, plan, a);
    if (fresh <= 0) return fresh < 0 ? -2 : -1; /* expired: the registry must see it */
    PyObject *layout = PyObject_GetAttr(active, str_layout);
    if (layout == NULL) return -2;
    int planned = layout == Py_None ? plan_options_set(active, buf, body, body_end, a, plan, records)
                                    : plan_data_set(layout, body, body_end, set_id, a, plan, records);
    Py_DECREF(layout); /* the groups dict keeps its key alive */
    return planned;
}

/* Pass 1 over the sets of one message, in wire order as decoder._sets reads them.  Returns the
 * number of (data and options) records, -1 to decline (nothing changed), -2 on a Python error.
 * Fills `plan`; the caller empties it with plan_reset. */
static long long plan_sets(const unsigned char *buf, Py_ssize_t start, Py_ssize_t end, const PlanArgs *a,
                           Plan *plan) {
    unsigned template_set = a->version == 9 ? 0 : 2, options_set = a->version == 9 ? 1 : 3;
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
        int planned = 0;
        if (set_id >= MIN_DATA_SET_ID) {
            PyObject *active = active_template(a->templates, set_id); /* borrowed */
            if (active == NULL) return PyErr_Occurred() ? -2 : -1;    /* unknown: Python's pending buffer */
            planned = plan_known_set(active, buf, body, body_end, set_id, a, plan, &records);
        } else if (set_id == template_set || set_id == options_set) {
            if (!a->templates_ok) return -1;
            planned = set_id == template_set ? plan_template_set(buf, body, body_end, set_id, a, plan)
                                             : plan_options_template_set(buf, body, body_end, set_id, a, plan);
        }
        /* other set ids are reserved: skipped, as in Python */
        if (planned < 0) return planned;
        offset = body_end;
    }
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

/* TemplateRegistry.learn for a re-announcement it would only refresh. */
static int apply_refreshes(const Plan *plan, PyObject *now_obj) {
    for (int i = 0; i < plan->nrefreshed; i++)
        if (PyObject_SetAttr(plan->refreshed[i], str_last_seen, now_obj) < 0) return -1;
    return 0;
}

/* FlowDecoder._apply_options for one effect. */
static int apply_effect(PyObject *stream, const Effect *effect) {
    if (effect->rate) {
        PyObject *rate = PyLong_FromUnsignedLongLong(effect->rate);
        if (rate == NULL) return -1;
        int failed;
        if (!effect->has_sampler) {
            failed = PyObject_SetAttr(stream, str_default_rate, rate);
        } else {
            PyObject *rates = PyObject_GetAttr(stream, str_sampler_rates);
            PyObject *sampler = PyLong_FromUnsignedLongLong(effect->sampler);
            failed = rates == NULL || sampler == NULL || !PyDict_Check(rates);
            if (rates != NULL && !PyDict_Check(rates)) PyErr_SetString(PyExc_TypeError, "sampler_rates must be a dict");
            if (!failed) {
                int known = PyDict_Contains(rates, sampler);
                failed = known < 0;
                if (!failed && (known || PyDict_GET_SIZE(rates) < MAX_SAMPLERS))
                    failed = PyDict_SetItem(rates, sampler, rate) < 0;
            }
            Py_XDECREF(rates);
            Py_XDECREF(sampler);
        }
        Py_DECREF(rate);
        if (failed) return -1;
    }
    if (effect->boot_ms >= 0) {
        PyObject *boot = PyLong_FromLongLong(effect->boot_ms);
        if (boot == NULL) return -1;
        int failed = PyObject_SetAttr(stream, str_boot_ms, boot) < 0;
        Py_DECREF(boot);
        if (failed) return -1;
    }
    return 0;
}

static int apply_effects(const Plan *plan, PyObject *stream) {
    for (int i = 0; i < plan->neffects; i++)
        if (apply_effect(stream, &plan->effects[i]) < 0) return -1;
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
    Plan plan;
    plan_init(&plan);
    PlanArgs plan_args = {args[4], args[7], now, lifetime, version, 0, 0};
    long long records = plan_sets(buf, start, end, &plan_args, &plan);
    if (records >= 0 && apply_sets(buf, plan.pending, plan.npending, ctx) < 0) records = -2;
    plan_reset(&plan);
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

/* -- sequence accounting ------------------------------------------------------------------- */
/* SequenceState.check and .account (flow/sequence.py) for the common case, on a copy of the
 * state's numbers: the two Python calls per datagram they replace were 3-6 % of the collector's
 * CPU (bench/collector_cpu.py).  The copy is read when the run first meets the stream (or after
 * Python touched the state) and written back before Python can look at the state again: when the
 * run moves to another stream, and when it returns or raises.  C handles a state only once it has
 * a previous message (last_seq and last_units known) and, for IPFIX, once its numbering profile
 * is locked; a RESTART is left to Python's check, which starts the state over.  Everything else
 * (the first message of a stream, an IPFIX stream whose profile is still unknown, v5) calls the
 * Python methods as before.  tests/flow/test_speedups.py compares both decoders' sequence
 * states. */

#define SEQ_WRAP 4294967296LL
#define SEQ_HALF 2147483648LL

typedef struct {
    PyObject *state; /* borrowed: the run's current SequenceState */
    int loaded;      /* the numbers below are the state's (else read them before use) */
    int usable;      /* C may check and account for this state */
    int dirty;       /* the numbers changed since they were read */
    long long last_seq, last_units, last_export_ms, last_uptime_ms, last_boot_ms, tolerance, version;
    int inclusive; /* IPFIX numbering profile: INCLUSIVE (1) or RFC (0) */
} SeqCopy;

static PyObject *str_last_seq, *str_last_units, *str_last_export_ms, *str_last_uptime_ms, *str_last_boot_ms,
    *str_clock_tolerance_ms, *str_version, *str_profile, *str_value;

/* obj.name as a long long; *missing set when it is None. */
static int seq_number(PyObject *obj, PyObject *name, long long *out, int *missing) {
    PyObject *value = PyObject_GetAttr(obj, name);
    if (value == NULL) return -1;
    if (value == Py_None) {
        *missing = 1;
        Py_DECREF(value);
        return 0;
    }
    *out = PyLong_AsLongLong(value);
    Py_DECREF(value);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int seq_load(SeqCopy *copy) {
    copy->loaded = 1;
    copy->usable = 0;
    copy->dirty = 0;
    int missing = 0;
    PyObject *names[7] = {str_last_seq,       str_last_units,         str_last_export_ms, str_last_uptime_ms,
                          str_last_boot_ms,   str_clock_tolerance_ms, str_version};
    long long *slots[7] = {&copy->last_seq,     &copy->last_units, &copy->last_export_ms, &copy->last_uptime_ms,
                           &copy->last_boot_ms, &copy->tolerance,  &copy->version};
    for (int k = 0; k < 7; k++) {
        if (seq_number(copy->state, names[k], slots[k], &missing) < 0) return -1;
        if (missing) return 0;
    }
    if (copy->version == 10) {
        PyObject *profile = PyObject_GetAttr(copy->state, str_profile);
        if (profile == NULL) return -1;
        PyObject *value = PyObject_GetAttr(profile, str_value);
        Py_DECREF(profile);
        if (value == NULL) return -1;
        int rfc = PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "rfc") == 0;
        int inclusive = PyUnicode_Check(value) && PyUnicode_CompareWithASCIIString(value, "inclusive") == 0;
        Py_DECREF(value);
        if (!rfc && !inclusive) return 0; /* still unknown: Python locks it */
        copy->inclusive = inclusive;
    } else if (copy->version != 9) {
        return 0;
    }
    copy->usable = 1;
    return 0;
}

/* Write the numbers back to the state, if they changed. */
static int seq_store(SeqCopy *copy) {
    if (!copy->dirty) return 0;
    copy->dirty = 0;
    PyObject *names[5] = {str_last_seq, str_last_units, str_last_export_ms, str_last_uptime_ms, str_last_boot_ms};
    long long values[5] = {copy->last_seq, copy->last_units, copy->last_export_ms, copy->last_uptime_ms,
                           copy->last_boot_ms};
    for (int k = 0; k < 5; k++) {
        PyObject *number = PyLong_FromLongLong(values[k]);
        if (number == NULL) return -1;
        int failed = PyObject_SetAttr(copy->state, names[k], number);
        Py_DECREF(number);
        if (failed < 0) return -1;
    }
    return 0;
}

/* SequenceState.check without its side effect: IN_ORDER (0), STATE_LATE or STATE_RESTART. */
static long seq_check(const SeqCopy *copy, uint32_t seq, long long export_ms, long long uptime_ms) {
    long long distance = (long long)(uint32_t)((uint64_t)copy->last_seq - seq);
    long long behind = (distance > 0 && distance < SEQ_HALF) ? distance : 0;
    int clock_back, restart = 0;
    if (uptime_ms >= 0) {
        clock_back = uptime_ms < copy->last_uptime_ms - copy->tolerance;
        if (clock_back) {
            long long boot_shift = (export_ms - uptime_ms) - copy->last_boot_ms;
            long long off_wrap = boot_shift - SEQ_WRAP;
            int wrapped = (off_wrap < 0 ? -off_wrap : off_wrap) <= copy->tolerance;
            restart = boot_shift > copy->tolerance && !wrapped;
        }
    } else {
        clock_back = export_ms < copy->last_export_ms - copy->tolerance;
    }
    long long window = copy->version == 9 ? 1000 : 30000; /* sequence.SEQUENCE_WINDOW */
    if (restart || (behind > window && !clock_back)) return STATE_RESTART;
    return behind ? STATE_LATE : 0;
}

static long long seq_signed(long long difference) {
    long long wrapped = (long long)(uint32_t)(uint64_t)difference;
    return wrapped >= SEQ_HALF ? wrapped - SEQ_WRAP : wrapped;
}

/* SequenceState.account for a usable state: the units lost before this message. */
static long long seq_account(SeqCopy *copy, uint32_t seq, long long units, long long export_ms, long long uptime_ms) {
    long long lost;
    if (copy->version != 10) {
        long long ahead = (long long)(uint32_t)((uint64_t)seq - (uint64_t)copy->last_seq - (uint64_t)copy->last_units);
        lost = ahead < SEQ_HALF ? ahead : 0;
    } else {
        long long difference = copy->inclusive ? seq_signed((long long)seq - units - copy->last_seq)
                                               : seq_signed((long long)seq - (copy->last_seq + copy->last_units));
        lost = difference > 0 ? difference : 0;
    }
    copy->last_seq = seq;
    copy->last_units = units;
    if (export_ms > copy->last_export_ms) copy->last_export_ms = export_ms;
    if (uptime_ms >= 0) {
        copy->last_uptime_ms = uptime_ms;
        copy->last_boot_ms = export_ms - uptime_ms;
    }
    copy->dirty = 1;
    return lost;
}

PyDoc_STRVAR(decode_run_doc,
             "decode_run(datagrams, first, now, registry, lifetime, sink, /) -> tuple\n\n"
             "FlowDecoder._templated + _commit for datagrams[first:], in order, while they are common\n"
             "v9/IPFIX datagrams: data of known fixed-length templates (see gather), unchanged template\n"
             "re-announcements, options data when sink.keep_options is false (see the module comment).\n"
             "Stream lookup calls registry.stream; sequence accounting repeats SequenceState.check and\n"
             "account in C where it can (see the sequence section), else calls them.  Returns (next,\n"
             "done, late, gaps, lost, template_records, options_records, resume): the caller adds\n"
             "template_records to its counters and options_records to sink.options_seen;\n"
             "datagrams[next] needs Python; resume is None when nothing of it was processed, else\n"
             "(stream, state, version, export_ms, uptime_ms, sequence, start, end) once its stream is\n"
             "open and its sequence number checked (RESTART, or sets C declines).");

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
    SeqCopy copy = {0}; /* before the first `goto finally`, which reads it */
    long long done = 0, late = 0, gaps = 0, lost_total = 0, template_records = 0, options_records = 0;
    Py_ssize_t i = first;
    Plan *plan = PyMem_Malloc(sizeof(Plan));
    if (plan == NULL) {
        PyErr_NoMemory();
        goto finally;
    }
    plan_init(plan);
    int keep_options = -1;
    if (!groups || !ctx_stream || !ctx_export || !ctx_uptime || !ctx_rate || !streams || !slots) goto finally;
    PyObject *keep = PyObject_GetAttr(sink, str_keep_options);
    if (keep == NULL) goto finally;
    keep_options = PyObject_IsTrue(keep);
    Py_DECREF(keep);
    if (keep_options < 0) goto finally;
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
            if (seq_store(&copy) < 0) {
                Py_DECREF(key);
                goto finally;
            }
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
            copy.state = sequence_state;
            copy.loaded = 0;
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
        if (!copy.loaded && seq_load(&copy) < 0) goto release_numbers;
        long state = copy.usable ? seq_check(&copy, seq, export_ms, uptime_ms) : STATE_RESTART;
        if (state == STATE_RESTART) { /* or not one C handles: Python decides, and may start over */
            if (seq_store(&copy) < 0) goto release_numbers;
            copy.loaded = 0;
            PyObject *check_args[3] = {seq_obj, export_obj, uptime_obj};
            PyObject *state_obj = call_method(sequence_state, str_check, check_args, 3);
            state = state_obj ? PyLong_AsLong(state_obj) : -1;
            Py_XDECREF(state_obj);
            if (state == -1 && PyErr_Occurred()) goto release_numbers;
        }

        long long records = -1;
        plan_reset(plan);
        if (state != STATE_RESTART) {
            if (templates == NULL) {
                templates = PyObject_GetAttr(stream, str_templates);
                if (templates == NULL) goto release_numbers;
                if (!PyDict_Check(templates)) {
                    PyErr_SetString(PyExc_TypeError, "stream.templates must be a dict");
                    goto release_numbers;
                }
            }
            PlanArgs plan_args = {templates, groups, now, lifetime, version, 1, !keep_options};
            records = plan_sets(buf, start, end, &plan_args, plan);
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
        if (apply_refreshes(plan, now_obj) < 0) goto release_numbers;
        if (slot < 0) {
            slot = stream_slot(slots, streams, stream);
            if (slot < 0) goto release_numbers;
        }
        long long ctx = PyList_GET_SIZE(ctx_stream);
        if (append_long(ctx_stream, slot) < 0 || PyList_Append(ctx_export, export_obj) < 0 ||
            PyList_Append(ctx_uptime, uptime_obj) < 0 || append_long(ctx_rate, 0) < 0)
            goto release_numbers;
        if (apply_sets(buf, plan->pending, plan->npending, ctx) < 0) goto release_numbers;
        if (apply_effects(plan, stream) < 0) goto release_numbers;
        template_records += plan->template_records;
        options_records += plan->options_records;
        if (state == STATE_LATE) {
            late++;
        } else if (copy.loaded && copy.usable) {
            long long lost = seq_account(&copy, seq, version == 9 ? 1 : records, export_ms, uptime_ms);
            if (lost) {
                gaps++;
                lost_total += lost;
            }
        } else {
            copy.loaded = 0;
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
    if (seq_store(&copy) < 0) goto finally;
    result = Py_BuildValue("(nLLLLLLO)", i, done, late, gaps, lost_total, template_records, options_records,
                           resume ? resume : Py_None);
finally:
    if (result == NULL && copy.dirty) { /* keep what was accounted, and the error being raised */
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        if (seq_store(&copy) < 0) PyErr_Clear();
        PyErr_Restore(type, value, traceback);
    }
    if (plan != NULL) {
        plan_reset(plan);
        PyMem_Free(plan);
    }
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

/* -- spool records ------------------------------------------------------------------------- */

#define SPOOL_HEADER 30 /* collector/spool.py _HEADER, "<IdH16s": length, received, port, exporter */

PyDoc_STRVAR(spool_records_doc,
             "spool_records(received, address16, /) -> bytes\n\n"
             "collector.spool.Spool.append's records for the receiver's (payload, host, port, received)\n"
             "tuples, as one bytes: per datagram the little-endian header (payload length, receive time,\n"
             "port, address16(host)) then the payload.  address16 is called when the host changes from\n"
             "the previous datagram's and must return 16 bytes.");

static PyObject *py_spool_records(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "spool_records expects 2 arguments");
        return NULL;
    }
    PyObject *received = args[0], *address16 = args[1];
    if (!PyList_Check(received)) {
        PyErr_SetString(PyExc_TypeError, "received must be a list");
        return NULL;
    }
    Py_ssize_t count = PyList_GET_SIZE(received), total = 0;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(received, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 4 || !PyBytes_Check(PyTuple_GET_ITEM(item, 0))) {
            PyErr_SetString(PyExc_TypeError, "received items must be (payload: bytes, host, port, received)");
            return NULL;
        }
        Py_ssize_t size = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0));
        if ((unsigned long long)size > 0xFFFFFFFFULL) {
            PyErr_SetString(PyExc_OverflowError, "payload longer than a spool record holds");
            return NULL;
        }
        total += SPOOL_HEADER + size;
    }
    PyObject *chunk = PyBytes_FromStringAndSize(NULL, total);
    if (chunk == NULL) return NULL;
    unsigned char *out = (unsigned char *)PyBytes_AS_STRING(chunk);
    PyObject *host = NULL, *address = NULL; /* the previous datagram's, borrowed / owned */
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *item = PyList_GET_ITEM(received, i);
        PyObject *payload = PyTuple_GET_ITEM(item, 0), *item_host = PyTuple_GET_ITEM(item, 1);
        if (address == NULL || item_host != host) {
            Py_XDECREF(address);
            address = PyObject_CallOneArg(address16, item_host);
            host = item_host;
            if (address == NULL) goto fail;
            if (!PyBytes_Check(address) || PyBytes_GET_SIZE(address) != 16) {
                PyErr_SetString(PyExc_ValueError, "address16 must return 16 bytes");
                goto fail;
            }
        }
        long port = PyLong_AsLong(PyTuple_GET_ITEM(item, 2));
        if (port == -1 && PyErr_Occurred()) goto fail;
        if (port < 0 || port > 0xFFFF) {
            PyErr_SetString(PyExc_OverflowError, "port out of range");
            goto fail;
        }
        double when = PyFloat_AsDouble(PyTuple_GET_ITEM(item, 3));
        if (when == -1.0 && PyErr_Occurred()) goto fail;
        Py_ssize_t size = PyBytes_GET_SIZE(payload);
        uint32_t length = (uint32_t)size;
        for (int b = 0; b < 4; b++) out[b] = (unsigned char)(length >> (8 * b));
        if (PyFloat_Pack8(when, (char *)out + 4, 1) < 0) goto fail;
        out[12] = (unsigned char)(port & 0xFF);
        out[13] = (unsigned char)(port >> 8);
        memcpy(out + 14, PyBytes_AS_STRING(address), 16);
        memcpy(out + SPOOL_HEADER, PyBytes_AS_STRING(payload), (size_t)size);
        out += SPOOL_HEADER + size;
    }
    Py_XDECREF(address);
    return chunk;
fail:
    Py_XDECREF(address);
    Py_DECREF(chunk);
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
    {"spool_records", (PyCFunction)(void (*)(void))py_spool_records, METH_FASTCALL, spool_records_doc},
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
    str_wire = PyUnicode_InternFromString("wire");
    str_persisted_at = PyUnicode_InternFromString("persisted_at");
    str_effects = PyUnicode_InternFromString("effects");
    str_default_rate = PyUnicode_InternFromString("default_rate");
    str_sampler_rates = PyUnicode_InternFromString("sampler_rates");
    str_boot_ms = PyUnicode_InternFromString("boot_ms");
    str_keep_options = PyUnicode_InternFromString("keep_options");
    if (!str_wire || !str_persisted_at || !str_effects || !str_default_rate || !str_sampler_rates || !str_boot_ms ||
        !str_keep_options)
        return NULL;
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
    str_last_seq = PyUnicode_InternFromString("last_seq");
    str_last_units = PyUnicode_InternFromString("last_units");
    str_last_export_ms = PyUnicode_InternFromString("last_export_ms");
    str_last_uptime_ms = PyUnicode_InternFromString("last_uptime_ms");
    str_last_boot_ms = PyUnicode_InternFromString("last_boot_ms");
    str_clock_tolerance_ms = PyUnicode_InternFromString("clock_tolerance_ms");
    str_version = PyUnicode_InternFromString("version");
    str_profile = PyUnicode_InternFromString("profile");
    str_value = PyUnicode_InternFromString("value");
    if (!str_last_seq || !str_last_units || !str_last_export_ms || !str_last_uptime_ms || !str_last_boot_ms ||
        !str_clock_tolerance_ms || !str_version || !str_profile || !str_value)
        return NULL;
    if (!str_last_seen || !str_layout || !str_record_length || !str_records || !str_sets || !str_stream ||
        !str_sequence || !str_check || !str_account || !str_templates || !str_ctx_stream || !str_ctx_export ||
        !str_ctx_uptime || !str_ctx_rate || !str_streams || !str_stream_slots)
        return NULL;
    scratch_lock = PyThread_allocate_lock();
    if (scratch_lock == NULL) return PyErr_NoMemory();
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddIntConstant(m, "MAX_SAMPLERS", MAX_SAMPLERS) < 0) Py_CLEAR(m);
    return m;
}
