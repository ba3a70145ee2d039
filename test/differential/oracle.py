#!/usr/bin/env python3
"""CPython oracle for the differential suite (test/40.differential.test.ts).

Reads {"cases": [...]} as JSON on stdin and writes {"results": [...]} on stdout:
one result per case, computed with the real CPython memoryview.  The JSON case
format and the value encoding are described in test/differential/cases.ts.

Where the package deliberately differs from CPython 3.11 (API.md, "Deliberate
differences"), this script emulates the documented behaviour on top of a real
memoryview instead of skipping the case:
  * format 'e' (CPython 3.12 semantics) and byte-order-prefixed formats such as
    '<h' or '!d' are modelled by a view of an unsigned format with the same
    itemsize (so every layout rule is still CPython's), plus struct packing;
  * hash() does not require the exporter to be hashable (bytearray is not).
"""
import json
import math
import pickle
import struct
import sys

PHYS = {1: 'B', 2: 'H', 4: 'I', 8: 'Q'}
# Native validation format for a byte-order-prefixed format char (standard sizes).
STD_NATIVE = {'b': 'b', 'B': 'B', '?': '?', 'c': 'c', 'h': 'h', 'H': 'H', 'i': 'i', 'I': 'I',
              'l': 'i', 'L': 'I', 'q': 'q', 'Q': 'Q', 'f': 'f', 'd': 'd', 'e': None}


def emulation(fmt):
    """For a format CPython 3.11 memoryview refuses but the package accepts, return
    (itemsize, phys, proxy, native, swap); None for formats left to CPython."""
    if not isinstance(fmt, str):
        return None
    if fmt in ('e', '@e'):
        return (2, 'H', 'H', None, False)
    if len(fmt) == 2 and fmt[0] in '<>=!' and fmt[1] in STD_NATIVE:
        size = struct.calcsize(fmt)
        phys = PHYS[size]
        # The proxy has the same itemsize and the same "byte format" class as
        # the target, so CPython's cast checks run in CPython's order.
        proxy = phys if (size > 1 or fmt[1] in 'bBc') else '?'
        return (size, phys, proxy, STD_NATIVE[fmt[1]], fmt[0] in '>!')
    return None


class V:
    """A view: a real memoryview plus, for emulated formats, the logical format."""
    __slots__ = ('mv', 'fmt', 'hc')

    def __init__(self, mv, fmt=None):
        self.mv = mv
        self.fmt = fmt
        self.hc = None

    @property
    def emu(self):
        return emulation(self.fmt) if self.fmt is not None else None

    def format(self):
        f = self.mv.format  # raises when released
        return self.fmt if self.fmt is not None else f


# ---------------------------------------------------------------- values in

def truthy(jv):
    t = jv['t']
    if t in ('undef', 'null'):
        return False
    if t in ('int', 'big'):
        return int(jv['v']) != 0
    if t == 'num':
        x = float(jv['v'])
        return not (x == 0 or math.isnan(x))
    if t == 'bool':
        return jv['v']
    if t == 'str':
        return jv['v'] != ''
    return True


def py(jv, fmt=None):
    """JSON value -> the Python value CPython sees for the JS argument.
    A JS number is a Python float for a float-format store, else an int when integral."""
    t = jv['t']
    if fmt is not None and isinstance(fmt, str) and fmt[-1:] == '?':
        return truthy(jv)
    if t in ('null', 'undef'):
        return None
    if t in ('int', 'big'):
        return int(jv['v'])
    if t == 'num':
        x = float(jv['v'])
        if fmt is not None and isinstance(fmt, str) and fmt[-1:] in ('f', 'd', 'e'):
            return x
        if math.isfinite(x) and x == int(x):
            return int(x)
        return x
    if t == 'bool':
        return jv['v']
    if t == 'str':
        return jv['v']
    if t == 'bytes':
        return bytes.fromhex(jv['v'])
    if t == 'arr':
        return [py(x) for x in jv['v']]
    if t == 'obj':
        return object()
    raise AssertionError('bad json value %r' % (jv,))


# ---------------------------------------------------------------- values out

def enc(x):
    if isinstance(x, bool):
        return {'b': x}
    if isinstance(x, int):
        return {'i': str(x)}
    if isinstance(x, float):
        return {'f': 'nan' if math.isnan(x) else struct.pack('>d', x).hex()}
    if isinstance(x, (bytes, bytearray)):
        return {'y': bytes(x).hex()}
    if isinstance(x, str):
        return {'s': x}
    if isinstance(x, (list, tuple)):
        return [enc(y) for y in x]
    if x is None:
        return None
    raise AssertionError('cannot encode %r' % (x,))


def err(e):
    return {'e': [type(e).__name__, str(e)]}


# ---------------------------------------------------------------- sources

def make_source(src):
    """Root bytearray and the view CPython would give for that JS source kind."""
    ba = bytearray(bytes.fromhex(src['hex']))
    fmt = src['fmt']
    mv = memoryview(ba)
    if fmt != 'B':
        mv = mv.cast(fmt)
    return ba, V(mv)


def fresh_view(hexstr, nbytes, fmt):
    mv = memoryview(bytearray(bytes.fromhex(hexstr)[:nbytes]))
    return cast(V(mv), fmt, None)


# ---------------------------------------------------------------- operations

def key_of(idx):
    return idx[0] if len(idx) == 1 else tuple(idx)


def slice_of(v, a, b, c):
    return V(v.mv[slice(a, b, c)], v.fmt)


def cast(v, fmt, shape):
    args = (fmt,) if shape is None else (fmt, shape)
    em = emulation(fmt)
    if em is None:
        if v.fmt is not None and v.mv.format != v.fmt:
            # Casting from an emulated format: only 'e' is generated as a source
            # format; it is a non-byte format like its 'H' stand-in.
            return V(v.mv.cast(*args))
        return V(v.mv.cast(*args))
    size, phys, proxy, _native, _swap = em
    pargs = (proxy,) if shape is None else (proxy, shape)
    v.mv.cast(*pargs)  # raises CPython's error, in CPython's order
    pargs = (phys,) if shape is None else (phys, shape)
    return V(v.mv.cast(*pargs), fmt)


def raw_of(v, physval):
    return struct.pack('<' + v.mv.format, physval)


def unpack_elem(v, physval):
    em = v.emu
    if em is None:
        return physval
    raw = raw_of(v, physval)
    f = v.fmt
    return struct.unpack('<e' if f in ('e', '@e') else f, raw)[0]


def get(v, idx):
    return unpack_elem(v, v.mv[key_of(idx)])


def set_(v, idx, val):
    em = v.emu
    if em is None:
        v.mv[key_of(idx)] = py(val, v.mv.format)
        return
    size, phys, _proxy, native, swap = em
    if v.mv.readonly:
        raise TypeError('cannot modify read-only memory')
    key = key_of(idx)
    # Index errors, in the order of CPython's store path, come before value errors: an
    # object() can never be stored, so this raises without writing anything.
    try:
        v.mv[key] = object()
    except TypeError as e:
        if not str(e).startswith('memoryview: invalid type for format'):
            raise
    x = py(val, v.fmt)
    if native is None:  # 'e', as CPython 3.12's memoryview
        if isinstance(x, (bool, int, float)):
            try:
                d = float(x)
            except OverflowError:
                raise ValueError("memoryview: invalid value for format 'e'")
        else:
            raise TypeError("memoryview: invalid type for format 'e'")
        raw = struct.pack('<e', d)
    else:
        tmp = memoryview(bytearray(size)).cast(native)
        tmp[0] = x
        raw = bytes(tmp)
    if swap:
        raw = raw[::-1]
    v.mv[key] = struct.unpack('<' + phys, raw)[0]


def tolist(v):
    if v.emu is None:
        return v.mv.tolist()
    shape = v.mv.shape

    def rec(prefix, dim):
        if dim == len(shape):
            return get(v, prefix) if prefix else unpack_elem(v, v.mv[()])
        return [rec(prefix + [i], dim + 1) for i in range(shape[dim])]
    return rec([], 0)


def iterate(v):
    # The issue makes every use of a released view an ERR_MEMORYVIEW_RELEASED; CPython's
    # iter() looks at ndim first (NotImplementedError for a released n-d view).
    v.mv.format
    it = iter(v.mv)
    return [unpack_elem(v, x) for x in it]


def flat(x, ndim):
    if ndim == 0:
        return [x]
    out = []
    for y in x:
        out.extend(flat(y, ndim - 1))
    return out


def released(v):
    try:
        v.mv.format
        return False
    except ValueError:
        return True


def equals(v, other):
    if isinstance(other, V):
        if v.emu is None and other.emu is None:
            return v.mv == other.mv
        if released(v) or released(other):
            return v is other
        o = other
    else:
        if v.emu is None:
            return v.mv == other
        if released(v):
            return False
        try:
            o = V(memoryview(other))
        except TypeError:
            return False
    a, b = v.mv, o.mv
    if a.ndim != b.ndim:
        return False
    for x, y in zip(a.shape, b.shape):
        if x != y:
            return False
        if x == 0:
            break
    if 0 in a.shape:
        return True
    xs, ys = flat(tolist(v), a.ndim), flat(tolist(o), b.ndim)
    return all(x == y for x, y in zip(xs, ys))


def vhash(v):
    if v.hc is not None:
        return v.hc
    mv = v.mv
    if not mv.readonly:  # raises when released
        raise ValueError('cannot hash writable memoryview object')
    f = v.format()
    if f[:1] == '@':
        f = f[1:]
    if f not in ('B', 'b', 'c'):
        raise ValueError("memoryview: hashing is restricted to formats 'B', 'b' or 'c'")
    v.hc = hash(mv.tobytes())  # CPython: hash(m) == hash(m.tobytes())
    return v.hc


ATTRS = ('nbytes', 'readonly', 'format', 'itemsize', 'ndim', 'shape', 'strides',
         'suboffsets', 'c_contiguous', 'f_contiguous', 'contiguous', 'length', 'obj')


def attr(v, name, root):
    if name == 'length':
        mv = v.mv
        return 1 if mv.ndim == 0 else len(mv)
    if name == 'format':
        return v.format()
    if name == 'obj':
        return {'s': 'root'} if v.mv.obj is root else {'s': 'other'}
    return getattr(v.mv, name)


def attempt(f):
    try:
        return {'v': f()}
    except Exception as e:  # every exception is a compared result
        return err(e)


def wrap(r):
    if 'v' in r:
        x = r['v']
        return {'v': x if isinstance(x, dict) and 's' in x and len(x) == 1 else enc(x)}
    return r


def build(spec):
    """Source + chain -> (root bytearray, view) or raises with the chain position."""
    root, v = make_source(spec['src'])
    for k, op in enumerate(spec['chain']):
        try:
            v = apply(v, op)
        except Exception as e:
            return root, None, {'at': k, **err(e)}
    return root, v, None


def apply(v, op):
    o = op['op']
    if o == 'slice':
        return slice_of(v, py(op['a']), py(op['b']), py(op['c']))
    if o == 'cast':
        shape = None if op['shape']['t'] == 'undef' else py(op['shape'])
        return cast(v, py(op['fmt']), shape)
    if o == 'ro':
        return V(v.mv.toreadonly(), v.fmt)
    if o == 'mv':
        return V(memoryview(v.mv), v.fmt)
    raise AssertionError(o)


def assign_source(v, s, spec):
    k = spec['kind']
    if k == 'fresh':
        fmt = s.format() if spec['fmt'] == 'same' else spec['fmt']
        size = s.mv.itemsize if spec['fmt'] == 'same' else spec['size']
        n = max(0, (1 if s.mv.ndim == 0 else len(s.mv)) + spec['delta'])
        if spec['as'] == 'raw':
            return bytearray(bytes.fromhex(spec['hex'])[:n * size])
        return fresh_view(spec['hex'], n * size, fmt)
    if k == 'self':
        return slice_of(v, py(spec['a']), py(spec['b']), py(spec['c']))
    if k == 'js':
        return py(spec['v'])
    raise AssertionError(k)


def assign(v, p):
    s = slice_of(v, py(p['a']), py(p['b']), py(p['c']))
    src = assign_source(v, s, p['src'])
    if isinstance(src, V):
        if s.emu is None and src.emu is None:
            s.mv[:] = src.mv
            return None
        # Emulated formats: CPython's structure check on the format strings.
        if s.mv.readonly:
            raise TypeError('cannot modify read-only memory')
        if s.mv.ndim != 1:
            raise NotImplementedError('memoryview slice assignments are currently restricted to ndim = 1')
        sf, of = s.format(), src.format()
        sf, of = sf[1:] if sf[:1] == '@' else sf, of[1:] if of[:1] == '@' else of
        if sf != of or s.mv.itemsize != src.mv.itemsize or s.mv.shape != src.mv.shape:
            raise ValueError('memoryview assignment: lvalue and rvalue have different structures')
        s.mv[:] = src.mv
        return None
    if s.emu is not None and isinstance(src, (bytes, bytearray)):
        if s.mv.readonly:
            raise TypeError('cannot modify read-only memory')
        if s.mv.ndim != 1:
            raise NotImplementedError('memoryview slice assignments are currently restricted to ndim = 1')
        raise ValueError('memoryview assignment: lvalue and rvalue have different structures')
    s.mv[:] = src
    return None


def other_view(spec, v):
    k = spec['kind']
    if k == 'self':
        return v
    if k == 'view':
        _root, o, e = build(spec)
        if e is not None:
            raise RuntimeError('other view chain failed')  # generator only emits valid ones
        return o
    if k == 'raw':
        src = spec['src']
        b = bytearray(bytes.fromhex(src['hex']))
        return b if src['fmt'] == 'B' else memoryview(b).cast(src['fmt'])
    if k == 'js':
        return py(spec['v'])
    raise AssertionError(k)


def probe(v, p, root, pins):
    k = p['p']
    if k == 'attrs':
        return {'attrs': [wrap(attempt(lambda n=n: attr(v, n, root))) for n in ATTRS]}
    if k == 'get':
        return wrap(attempt(lambda: get(v, [py(i) for i in p['idx']])))
    if k == 'set':
        r = wrap(attempt(lambda: set_(v, [py(i) for i in p['idx']], p['val'])))
        return {'r': r, 'mem': bytes(root).hex()}
    if k == 'assign':
        r = wrap(attempt(lambda: assign(v, p)))
        return {'r': r, 'mem': bytes(root).hex()}
    if k == 'tobytes':
        o = p['order']
        return wrap(attempt(lambda: v.mv.tobytes() if o['t'] == 'undef' else v.mv.tobytes(py(o))))
    if k == 'hex':
        kw = {}
        if p['sep']['t'] != 'undef':
            kw['sep'] = py(p['sep'])
        if p['bps']['t'] != 'undef':
            kw['bytes_per_sep'] = py(p['bps'])
        return wrap(attempt(lambda: v.mv.hex(**kw)))
    if k == 'tolist':
        return wrap(attempt(lambda: tolist(v)))
    if k == 'iter':
        return wrap(attempt(lambda: iterate(v)))
    if k == 'equals':
        o = other_view(p['other'], v)
        return wrap(attempt(lambda: equals(v, o)))
    if k == 'hash':
        r = attempt(lambda: vhash(v))
        return {'v': {'s': 'hashed'}} if 'v' in r else r
    if k == 'toreadonly':
        def f():
            r = V(v.mv.toreadonly(), v.fmt)
            return [r.mv.readonly, r.format(), list(r.mv.shape), r.mv.tobytes()]
        return wrap(attempt(f))
    if k == 'release':
        return wrap(attempt(lambda: v.mv.release()))
    if k == 'pin':
        def f():
            pins.append(pickle.PickleBuffer(v.mv))
        return wrap(attempt(f))
    if k == 'unpin':
        def f():
            if pins:
                pins.pop().release()
        return wrap(attempt(f))
    raise AssertionError(k)


def run_case(case):
    root, v, e = build(case)
    if e is not None:
        return {'chain': e}
    pins = []
    out = [probe(v, p, root, pins) for p in case['probes']]
    for pb in pins:
        pb.release()
    return {'probes': out}


def selftest():
    """Checks the emulated formats against struct over whole buffers (struct semantics
    is what API.md promises for them); prints the number of checks, raises on a miss."""
    import random
    rnd = random.Random(7)
    fmts = ['e', '@e'] + [p + c for p in '<>=!' for c in STD_NATIVE]
    checks = 0
    for fmt in fmts:
        size = struct.calcsize('<e' if fmt in ('e', '@e') else fmt)
        sfmt = '<e' if fmt in ('e', '@e') else fmt
        for n in (0, 1, 5):
            raw = bytes(rnd.randrange(256) for _ in range(n * size))
            ba = bytearray(raw)
            v = cast(V(memoryview(ba)), fmt, None)
            want = [x for (x,) in struct.iter_unpack(sfmt, raw)]
            got = tolist(v)
            same = all((x != x and y != y) or (x == y and type(x) is type(y)) for x, y in zip(want, got))
            assert len(want) == len(got) and same, (fmt, raw.hex(), want, got)
            assert iterate(v) == got or any(x != x for x in got), fmt
            checks += 2
            for i in range(n):
                x = want[(i + 1) % n]
                if x != x:
                    continue  # a JS NaN carries no payload to store
                set_(v, [i], {'t': 'bytes', 'v': x.hex()} if isinstance(x, bytes) else
                     {'t': 'bool', 'v': x} if isinstance(x, bool) else
                     {'t': 'num', 'v': repr(x)} if isinstance(x, float) else {'t': 'big', 'v': str(x)})
                assert bytes(ba[i * size:(i + 1) * size]) == struct.pack(sfmt, x), (fmt, x)
                checks += 1
    print(checks)


def main():
    if sys.argv[1:] == ['--selftest']:
        return selftest()
    data = json.load(sys.stdin)
    results = []
    for case in data['cases']:
        try:
            results.append(run_case(case))
        except Exception as e:  # an oracle bug: reported, never compared as a result
            results.append({'oracle_error': '%s: %s' % (type(e).__name__, e)})
    sys.stdout.write(json.dumps({'results': results, 'python': sys.version.split()[0]}))


if __name__ == '__main__':
    main()
