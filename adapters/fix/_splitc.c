/* The FIX log reader's one hand-written C function: split one message's text into its values and
 * its shape (its tags joined by SOH), for adapters/fix/framing.py.
 *
 * Why by hand: every other step of the bulk path is typed Python compiled by mypyc, but splitting
 * is where the time goes. The best CPython can do with its own string methods is
 * replace('=', SOH) + split(SOH) + join of the tags: a str object for every tag as well as every
 * value, and three passes, about 1.8 us a message here. One pass that makes only the values and the
 * shape takes about a third of that (see adapters/fix/fields.py: split_values, the reference
 * implementation that runs when this module is not built, and tests/fix/test_split.py, which holds
 * the two to the same results on arbitrary text).
 *
 * Input is untrusted (any log a user feeds in): every index below stays within [0, n), and the
 * function only reads the text and builds new objects.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

/* split_values(text) -> (values, shape) or None.
 *
 * The text must be whole fields "tag=value<SOH>" one after another, tag and value non-empty and
 * neither holding '=' or SOH; anything else (or text that is not one byte per character) gives
 * None, and the caller takes its careful path. Tags are not checked further here: the caller
 * checks each distinct shape once. */
static PyObject *split_values(PyObject *module, PyObject *text) {
    (void)module;
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "split_values() expects a str");
        return NULL;
    }
    if (PyUnicode_READY(text) < 0) {
        return NULL;
    }
    if (PyUnicode_KIND(text) != PyUnicode_1BYTE_KIND) {
        Py_RETURN_NONE;
    }
    const Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    const Py_UCS1 *s = PyUnicode_1BYTE_DATA(text);
    const int ascii = PyUnicode_IS_ASCII(text);

    /* Pass 1: check the structure; count the fields and the shape's length. */
    Py_ssize_t fields = 0, shape_len = 0, i = 0;
    while (i < n) {
        const Py_ssize_t tag = i;
        while (i < n && s[i] != '=' && s[i] != 1) {
            i++;
        }
        if (i == tag || i >= n || s[i] != '=') {
            Py_RETURN_NONE; /* empty tag, a field without '=', or the end of the text */
        }
        shape_len += (i - tag) + (fields ? 1 : 0);
        i++;
        const Py_ssize_t value = i;
        while (i < n && s[i] != '=' && s[i] != 1) {
            i++;
        }
        if (i == value || i >= n || s[i] != 1) {
            Py_RETURN_NONE; /* empty value, a value holding '=', or no SOH after it */
        }
        i++;
        fields++;
    }
    if (fields == 0) {
        Py_RETURN_NONE;
    }

    /* Pass 2: build the values and the shape. */
    PyObject *values = PyList_New(fields);
    if (values == NULL) {
        return NULL;
    }
    Py_UCS1 *shape_buf = PyMem_Malloc(shape_len);
    if (shape_buf == NULL) {
        Py_DECREF(values);
        return PyErr_NoMemory();
    }
    Py_ssize_t k = 0, at = 0;
    i = 0;
    while (k < fields) { /* pass 1 proved each field well formed */
        const Py_ssize_t tag = i;
        while (s[i] != '=') {
            i++;
        }
        if (k) {
            shape_buf[at++] = 1;
        }
        memcpy(shape_buf + at, s + tag, i - tag);
        at += i - tag;
        const Py_ssize_t value = ++i;
        while (s[i] != 1) {
            i++;
        }
        PyObject *v;
        if (ascii) { /* an ASCII text's slices are ASCII: fill a new compact str directly */
            v = PyUnicode_New(i - value, 127);
            if (v != NULL) {
                memcpy(PyUnicode_1BYTE_DATA(v), s + value, i - value);
            }
        } else {
            v = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, s + value, i - value);
        }
        if (v == NULL) {
            PyMem_Free(shape_buf);
            Py_DECREF(values);
            return NULL;
        }
        PyList_SET_ITEM(values, k, v);
        i++;
        k++;
    }
    PyObject *shape = PyUnicode_FromKindAndData(PyUnicode_1BYTE_KIND, shape_buf, shape_len);
    PyMem_Free(shape_buf);
    if (shape == NULL) {
        Py_DECREF(values);
        return NULL;
    }
    PyObject *result = PyTuple_Pack(2, values, shape);
    Py_DECREF(values);
    Py_DECREF(shape);
    return result;
}

static PyMethodDef methods[] = {
    {"split_values", split_values, METH_O,
     "split_values(text) -> (values, shape) or None: one FIX message's values and its tags joined "
     "by SOH, when the text is whole non-empty tag=value<SOH> fields."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_splitc", "See adapters/fix/_splitc.c.", -1, methods,
};

PyMODINIT_FUNC PyInit__splitc(void) { return PyModule_Create(&module_def); }
