/* _lhsampler, the transport: the agent's socket to the host, without _socket.
 * Included by lhsampler.c in order (one compilation unit); not a header to include elsewhere. */

/* ------------------------------------------------------------------ the host socket
 *
 * The agent's connection to the host without importing socket/_socket (their
 * module and shared object cost the target ~180 KB of resident memory). The fd
 * is non-blocking and close-on-exec; every wait is a poll() with the GIL
 * released; send uses MSG_NOSIGNAL, so a host that went away never raises
 * SIGPIPE in a target that restored its default action. Errors are OSError
 * (TimeoutError on a timeout); the caller closes the fd with os.close. */

static double now_mono(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Waits for `events` until the deadline (a deadline already past still looks once);
 * 1 ready, 0 timed out, -1 error (errno). GIL released. */
static int wait_fd(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - now_mono();
        struct pollfd pfd = {fd, events, 0};
        int r;
        Py_BEGIN_ALLOW_THREADS
        r = poll(&pfd, 1, left > 0 ? (int)(left * 1000.0) + 1 : 0);
        Py_END_ALLOW_THREADS
        if (r > 0) return 1;
        if (r < 0 && errno != EINTR) return -1;
        if (left <= 0) return 0;
    }
}

static PyObject *timeout_error(void) {
    PyErr_SetString(PyExc_TimeoutError, "timed out");
    return NULL;
}

static PyObject *lh_unix_connect(PyObject *self, PyObject *args) {
    PyObject *path_obj;
    double timeout;
    if (!PyArg_ParseTuple(args, "O&d", PyUnicode_FSConverter, &path_obj, &timeout)) return NULL;
    struct sockaddr_un addr;
    memset(&addr, 0, sizeof(addr));
    addr.sun_family = AF_UNIX;
    Py_ssize_t n = PyBytes_GET_SIZE(path_obj);
    if (n <= 0 || (size_t)n >= sizeof(addr.sun_path)) {
        Py_DECREF(path_obj);
        PyErr_SetString(PyExc_OSError, "socket path too long");
        return NULL;
    }
    memcpy(addr.sun_path, PyBytes_AS_STRING(path_obj), (size_t)n);
    Py_DECREF(path_obj);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return PyErr_SetFromErrno(PyExc_OSError);
    int r;
    Py_BEGIN_ALLOW_THREADS
    r = connect(fd, (struct sockaddr *)&addr, sizeof(addr));
    Py_END_ALLOW_THREADS
    if (r < 0 && (errno == EINPROGRESS || errno == EAGAIN)) {
        int ready = wait_fd(fd, POLLOUT, now_mono() + timeout);
        int err = 0;
        socklen_t len = sizeof(err);
        if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
            r = err ? -1 : 0;
            if (err) errno = err;
        } else {
            r = -1;
            if (ready == 0) {
                close(fd);
                return timeout_error();
            }
        }
    }
    if (r < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromLong(fd);
}

static PyObject *lh_send_all(PyObject *self, PyObject *args) {
    int fd;
    Py_buffer buf;
    double timeout;
    if (!PyArg_ParseTuple(args, "iy*d", &fd, &buf, &timeout)) return NULL;
    const char *p = buf.buf;
    size_t left = (size_t)buf.len;
    double deadline = now_mono() + timeout;
    while (left > 0) {
        ssize_t w;
        Py_BEGIN_ALLOW_THREADS
        w = send(fd, p, left, MSG_NOSIGNAL | MSG_DONTWAIT);
        Py_END_ALLOW_THREADS
        if (w > 0) {
            p += w;
            left -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int ready = wait_fd(fd, POLLOUT, deadline);
            if (ready == 1) continue;
            PyBuffer_Release(&buf);
            return ready == 0 ? timeout_error() : PyErr_SetFromErrno(PyExc_OSError);
        }
        PyBuffer_Release(&buf);
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    PyBuffer_Release(&buf);
    Py_RETURN_NONE;
}

static PyObject *lh_recv(PyObject *self, PyObject *args) {
    int fd;
    Py_ssize_t n;
    double timeout;
    if (!PyArg_ParseTuple(args, "ind", &fd, &n, &timeout)) return NULL;
    if (n <= 0) return PyBytes_FromStringAndSize(NULL, 0);
    int ready = wait_fd(fd, POLLIN, now_mono() + timeout);
    if (ready == 0) return timeout_error();
    if (ready < 0) return PyErr_SetFromErrno(PyExc_OSError);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n);
    if (!out) return NULL;
    ssize_t r;
    for (;;) {
        Py_BEGIN_ALLOW_THREADS
        r = recv(fd, PyBytes_AS_STRING(out), (size_t)n, MSG_DONTWAIT);
        Py_END_ALLOW_THREADS
        if (r >= 0 || errno != EINTR) break;
    }
    if (r < 0) {
        Py_DECREF(out);
        if (errno == EAGAIN || errno == EWOULDBLOCK) return timeout_error();
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    if (_PyBytes_Resize(&out, r) < 0) return NULL;
    return out;
}
