"""The native allocation sampler (_lhsampler) and its optional LD_PRELOAD malloc shim.

``load()`` builds the extension on first use (see build.py) and returns it;
it raises ``build.SamplerUnavailable`` with the reason when it cannot.
"""


def load():
    from .build import load as _load

    return _load()


def load_if_built():
    """The extension when it needs no build, else None (never raises)."""
    try:
        from .build import load_if_built as _load_if_built

        return _load_if_built()
    except Exception:
        return None
