"""Building and loading the native sampler, on first use, into a per-interpreter cache.

This runs inside the target process at start-up, so it never writes to the
target's stdout/stderr (compiler output is captured), returns quickly when the
extension is already built, and turns every failure into one exception,
``SamplerUnavailable``, whose message says why (the agent then falls back and
reports the reason).

Cache layout (``LEAKHOUND_CACHE_DIR``, else ``$XDG_CACHE_HOME/leakhound``, else
``~/.cache/leakhound``)::

    <impl>-<version>-<tag>-<hash>/_lhsampler<EXT_SUFFIX>   one per interpreter and source
    shim-<machine>-<hash>/libleakhound_malloc.so           the LD_PRELOAD shim (interpreter-independent)

The hash covers the C sources, the compiler flags and the interpreter build,
so an edited source or another interpreter never picks up a stale binary.
Concurrent first uses serialise on a lock file and publish with an atomic
rename, so a half-written file is never loaded.

    python -m leakhound_agent.native.build [--force] [--shim] [--quiet]

prebuilds for the interpreter running it and prints the path(s).
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
MODULE_NAME = "_lhsampler"
SOURCES = ("lhsampler.c",)
SHIM_SOURCES = ("lhmalloc.c",)
# lhsampler.c includes its parts, one compilation unit; every part is in the build's cache key.
SAMPLER_PARTS = ("lh_state.h", "lh_strings.h", "lh_stack_walk.h", "lh_frame_cache.h", "lh_blocks.h", "lh_levels.h",
                 "lh_hooks.h", "lh_free_lists.h", "lh_native.h", "lh_owners.h", "lh_api.h", "lh_socket.h", "lh_walk.h")
HEADERS = ("lhshim.h",) + SAMPLER_PARTS
CFLAGS = ("-O2", "-fPIC", "-shared", "-pthread", "-fno-strict-aliasing", "-fvisibility=hidden", "-DNDEBUG",
          "-Wno-unused-function", "-Wno-missing-field-initializers")
LIBS = ("-lm", "-ldl")
BUILD_TIMEOUT = 120.0
LOCK_WAIT = 150.0
# A failed build is not retried for this long unless the compiler or headers change.
FAILURE_TTL = 3600.0

_loaded = None
_temp_root = None  # set when the user cache turned out not to be writable


class SamplerUnavailable(Exception):
    """The native sampler cannot be used here; the message says why."""


class CacheUnwritable(SamplerUnavailable):
    """The cache directory cannot be created (load() then retries under the temp dir)."""


def cache_root():
    """LEAKHOUND_CACHE_DIR, else the user cache; a temp dir when the home cache cannot be written."""
    root = os.environ.get("LEAKHOUND_CACHE_DIR")
    if root:
        return os.path.abspath(root)
    if _temp_root:
        return _temp_root
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    root = os.path.abspath(os.path.join(base, "leakhound"))
    probe = root
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if os.access(probe, os.W_OK | os.X_OK) or os.path.isdir(root) and _has_builds(root):
        return root
    return _temp_cache()


def _temp_cache():
    import tempfile

    return os.path.join(tempfile.gettempdir(), "leakhound-cache-%d" % os.getuid())


def _has_builds(root):
    try:
        return any(name.startswith(sys.implementation.name) for name in os.listdir(root))
    except OSError:
        return False


def _sources_digest(names, extra=()):
    """The cache key of a build; read once per process (the agent asks for it more than once at start-up)."""
    key = (tuple(names), tuple(extra))
    digest = _digests.get(key)
    if digest is None:
        digest = _digests[key] = _compute_digest(names, extra)
    return digest


_digests = {}


def _compute_digest(names, extra):
    # The blob (each file's name, NUL, content, NUL, then the flags) read as one big
    # integer, reduced modulo two primes: no hashlib, zlib or binascii (binascii links
    # libz): importing them costs start-up time and resident memory in the target, and a
    # cache key needs no cryptographic strength. Computed piece by piece, 4 KiB at a
    # time, so the target never holds the whole blob (60 KB, as a big int twice).
    little, big, offset = 0, 0, 0
    p_little, p_big = (1 << 61) - 1, (1 << 31) - 1

    def fold(piece):
        nonlocal little, big, offset
        for start in range(0, len(piece), _DIGEST_PIECE):
            part = piece[start:start + _DIGEST_PIECE]
            little = (little + int.from_bytes(part, "little") * pow(256, offset, p_little)) % p_little
            big = (big * pow(256, len(part), p_big) + int.from_bytes(part, "big")) % p_big
            offset += len(part)

    for name in tuple(names) + HEADERS:
        fold(name.encode() + b"\0")
        with open(os.path.join(HERE, name), "rb") as f:
            while True:
                piece = f.read(_DIGEST_PIECE)
                if not piece:
                    break
                fold(piece)
        fold(b"\0")
    for item in tuple(CFLAGS) + tuple(LIBS) + tuple(extra):
        fold(item.encode("utf-8", "replace") + b"\0")
    return "%016x" % ((little ^ (big << 33)) & 0xFFFFFFFFFFFFFFFF)


_DIGEST_PIECE = 4096


def _ext_suffix():
    import _imp

    return _imp.extension_suffixes()[0]


def interpreter_tag():
    """What makes an interpreter's extension binary distinct (cheap: no sysconfig)."""
    impl = sys.implementation.name
    version = "%d.%d.%d" % sys.version_info[:3]
    extra = (sys.version, sys.base_prefix, getattr(sys, "abiflags", ""), _ext_suffix(), os.uname().machine,
             str(sys.maxsize))
    return impl, version, extra


def extension_dir():
    impl, version, extra = interpreter_tag()
    digest = _sources_digest(SOURCES, extra)[:16]
    tag = sys.implementation.cache_tag or impl
    return os.path.join(cache_root(), "%s-%s-%s-%s" % (impl, version, tag, digest))


def extension_path():
    return os.path.join(extension_dir(), MODULE_NAME + _ext_suffix())


def shim_path():
    digest = _sources_digest(SHIM_SOURCES, (os.uname().machine,))[:16]
    return os.path.join(cache_root(), "shim-%s-%s" % (os.uname().machine, digest), "libleakhound_malloc.so")


# ------------------------------------------------------------------ compiler and headers


def find_compiler():
    """Path of the C compiler to use, or raise SamplerUnavailable."""
    import shutil

    wanted = os.environ.get("LEAKHOUND_CC")
    if wanted:
        found = shutil.which(wanted)
        if not found:
            raise SamplerUnavailable("no C compiler: LEAKHOUND_CC=%s is not an executable" % wanted)
        return found
    candidates = []
    env_cc = os.environ.get("CC")
    if env_cc:
        candidates.append(env_cc.split()[0])
    try:
        import sysconfig

        cc = sysconfig.get_config_var("CC")
        if cc:
            candidates.append(cc.split()[0])
    except Exception:
        pass
    candidates += ["cc", "gcc", "clang"]
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    raise SamplerUnavailable("no C compiler found (looked for %s on PATH)" % ", ".join(dict.fromkeys(candidates)))


def include_dirs():
    import sysconfig

    paths = sysconfig.get_paths()
    dirs = []
    for key in ("include", "platinclude"):
        d = paths.get(key)
        if d and d not in dirs:
            dirs.append(d)
    if not any(os.path.isfile(os.path.join(d, "Python.h")) for d in dirs):
        raise SamplerUnavailable("no Python headers for this interpreter (Python.h not in %s)" % ", ".join(dirs))
    return dirs


def _check_supported():
    if sys.implementation.name != "cpython":
        raise SamplerUnavailable("the native sampler needs CPython, not %s" % sys.implementation.name)
    if sys.version_info < (3, 8):
        raise SamplerUnavailable("the native sampler needs Python 3.8 or newer")
    if os.name != "posix":
        raise SamplerUnavailable("the native sampler is built for POSIX systems only")
    if "t" in getattr(sys, "abiflags", ""):
        raise SamplerUnavailable("free-threaded CPython builds are not supported")


# ------------------------------------------------------------------ building


def _run_compiler(cmd, cwd):
    import subprocess

    try:
        proc = subprocess.run(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise SamplerUnavailable("the C compiler took longer than %d s" % BUILD_TIMEOUT)
    except OSError as error:
        raise SamplerUnavailable("cannot run the C compiler %s: %s" % (cmd[0], error))
    output = proc.stdout.decode("utf-8", "replace")
    if proc.returncode != 0:
        lines = [line for line in output.splitlines() if "error" in line] or output.splitlines()
        detail = (lines[0] if lines else "exit status %d" % proc.returncode).strip()
        raise SamplerUnavailable("the C compiler failed: %s" % detail[:240])
    return output


class _Lock(object):
    """An exclusive lock file; waits at most LOCK_WAIT seconds (then builds anyway)."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        try:
            import fcntl
            import time

            self.fd = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
            deadline = time.monotonic() + LOCK_WAIT
            while True:
                try:
                    fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
        except Exception:
            pass
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            try:
                os.close(self.fd)  # also releases the flock
            except OSError:
                pass


def _publish(build_fn, final, signature):
    """Build into a private temp dir next to `final`, then rename into place."""
    import shutil
    import tempfile

    directory = os.path.dirname(final)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise CacheUnwritable("cannot create the build cache %s: %s" % (directory, error))
    failure = os.path.join(directory, "build-error.txt")
    with _Lock(os.path.join(directory, ".lock")):
        if os.path.isfile(final):
            return final  # another process built it while we waited
        recent = _recent_failure(failure, signature)
        if recent:
            raise SamplerUnavailable(recent)
        tmp = tempfile.mkdtemp(prefix=".build-", dir=directory)
        try:
            out = os.path.join(tmp, os.path.basename(final))
            log = build_fn(out, tmp)
            os.replace(out, final)
            try:
                with open(os.path.join(directory, "build.log"), "w") as f:
                    f.write(log)
                if os.path.exists(failure):
                    os.unlink(failure)
            except OSError:
                pass
        except SamplerUnavailable as error:
            try:
                with open(failure, "w") as f:
                    f.write(signature + "\n" + str(error) + "\n")
            except OSError:
                pass
            raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def _recent_failure(failure, signature):
    if os.environ.get("LEAKHOUND_REBUILD"):
        return None
    try:
        import time

        if time.time() - os.path.getmtime(failure) > FAILURE_TTL:
            return None
        with open(failure) as f:
            recorded, _, reason = f.read().partition("\n")
    except (OSError, ValueError):
        return None
    if recorded != signature:
        return None
    return reason.strip() + " (cached failure; set LEAKHOUND_REBUILD=1 to retry)"


def _signature(cc, incs):
    parts = [cc]
    for path in [cc] + [os.path.join(d, "Python.h") for d in incs]:
        try:
            parts.append("%s:%d" % (path, os.stat(path).st_mtime))
        except OSError:
            parts.append(path + ":-")
    return "|".join(parts)


def build_extension(force=False):
    """Path of the built extension for this interpreter (building it if needed)."""
    _check_supported()
    final = extension_path()
    if os.path.isfile(final) and not force:
        return final
    cc = find_compiler()
    incs = include_dirs()
    if force and os.path.exists(final):
        os.unlink(final)

    def compile_into(out, tmp):
        cmd = [cc] + list(CFLAGS) + ["-I" + d for d in incs] + ["-I" + HERE]
        cmd += [os.path.join(HERE, s) for s in SOURCES] + ["-o", out] + list(LIBS)
        if sys.platform == "darwin":
            cmd.insert(1, "-undefined")
            cmd.insert(2, "dynamic_lookup")
        return " ".join(cmd) + "\n" + _run_compiler(cmd, tmp)

    return _publish(compile_into, final, _signature(cc, incs))


def build_shim(force=False):
    """Path of libleakhound_malloc.so (building it if needed)."""
    if not sys.platform.startswith("linux"):
        raise SamplerUnavailable("the malloc shim is built for Linux only")
    final = shim_path()
    if os.path.isfile(final) and not force:
        return final
    cc = find_compiler()
    if force and os.path.exists(final):
        os.unlink(final)

    def compile_into(out, tmp):
        cmd = [cc] + list(CFLAGS) + ["-I" + HERE] + [os.path.join(HERE, s) for s in SHIM_SOURCES]
        cmd += ["-o", out] + list(LIBS)
        return " ".join(cmd) + "\n" + _run_compiler(cmd, tmp)

    return _publish(compile_into, final, _signature(cc, []))


# ------------------------------------------------------------------ loading


def load():
    """The _lhsampler module, built on first use; raises SamplerUnavailable."""
    global _loaded, _temp_root
    if _loaded is not None:
        return _loaded
    try:
        try:
            path = build_extension()
        except CacheUnwritable as error:
            if os.environ.get("LEAKHOUND_CACHE_DIR") or _temp_root:
                raise SamplerUnavailable(str(error))
            _temp_root = _temp_cache()  # e.g. a read-only home: build under the temp dir instead
            try:
                path = build_extension()
            except CacheUnwritable as again:
                raise SamplerUnavailable(str(again))
    except SamplerUnavailable:
        raise
    except Exception as error:  # an unexpected failure must still mean "fall back"
        raise SamplerUnavailable("cannot build the native sampler: %s: %s" % (type(error).__name__, error))
    try:
        # The frozen bootstrap modules, not importlib.util: nothing new is imported into the target.
        import _frozen_importlib
        import _frozen_importlib_external

        loader = _frozen_importlib_external.ExtensionFileLoader(MODULE_NAME, path)
        spec = _frozen_importlib.spec_from_loader(MODULE_NAME, loader, origin=path)
        module = _frozen_importlib.module_from_spec(spec)
        loader.exec_module(module)
    except Exception as error:
        raise SamplerUnavailable("cannot load %s: %s: %s" % (path, type(error).__name__, error))
    _loaded = module
    return module


def load_if_built():
    """The _lhsampler module when it is loaded or already built for this interpreter, else None.

    Never builds and never raises: the agent uses it for its host socket before it
    has chosen a collector (see connection.py).
    """
    if _loaded is not None:
        return _loaded
    try:
        if os.path.isfile(extension_path()):
            return load()
    except Exception:
        pass
    return None


def main(argv=None):
    import argparse

    parser = argparse.ArgumentParser(prog="python -m leakhound_agent.native.build",
                                     description="Prebuild leakhound's native sampler for this interpreter.")
    parser.add_argument("--force", action="store_true", help="rebuild even when a cached build exists")
    parser.add_argument("--shim", action="store_true", help="also build the LD_PRELOAD malloc shim")
    parser.add_argument("--shim-only", action="store_true", help="only build the malloc shim")
    parser.add_argument("--quiet", action="store_true", help="print nothing; the exit status tells")
    args = parser.parse_args(argv)
    if args.force:
        os.environ["LEAKHOUND_REBUILD"] = "1"
    status = 0
    targets = [] if args.shim_only else [("extension", build_extension)]
    if args.shim or args.shim_only:
        targets.append(("shim", build_shim))
    for label, fn in targets:
        try:
            path = fn(force=args.force)
            if not args.quiet:
                print(path)
        except SamplerUnavailable as error:
            status = 1
            if not args.quiet:
                print("%s not built: %s" % (label, error), file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
