/**
 * The type half of the format → value-type table: which JS type a view of each format reads,
 * stores and hands out as a TypedArray. Types only: nothing here exists at run time.
 *
 * `ValueOf<F>` is derived from format.ts's runtime table (`VALUE_KINDS`), so the two cannot drift;
 * test/63.value-types.test.ts checks every reader and `toTypedArray()` against these types, and
 * test/types/ checks them at compile time.
 */
import type { VALUE_KINDS, Value } from './format'
import type { MemoryView } from './memoryview'
import type { BUFFER_PROTOCOL } from './sources'
import type { ExternalOwner } from './external'

/** Struct letters that exist only with native sizes (no byte-order prefix): `n N P`. */
export type NativeOnlyFormatChar = 'n' | 'N' | 'P'
/** Struct letters that also take a byte-order prefix (`< > = !`). */
export type PortableFormatChar = 'b' | 'B' | 'h' | 'H' | 'i' | 'I' | 'l' | 'L' | 'q' | 'Q' | 'f' | 'd' | 'e' | '?' | 'c'
/** Every single-character struct format letter a view supports. */
export type FormatChar = PortableFormatChar | NativeOnlyFormatChar

/**
 * Every format string a view can have and `cast()` accepts, as a literal union so that editors
 * complete it and a typo in a literal (`cast('Z')`) is a compile error: a letter alone or with `@`
 * (native size and byte order), or a portable letter with `<` `>` `=` `!` (standard size, one
 * element). A `string` variable still compiles where a format is taken; the view's format type is
 * then this whole union.
 */
export type FormatString = FormatChar | `@${FormatChar}` | `${'<' | '>' | '=' | '!'}${PortableFormatChar}`

/** The struct letter of a format string: `'<d'` → `'d'`, `'@q'` → `'q'`, `'B'` → `'B'`. */
export type FormatCharOf<F extends string> = F extends `${'@' | '<' | '>' | '=' | '!'}${infer C}` ? C : F

/**
 * The JS type of each kind in format.ts's `VALUE_KINDS`. Not exported: the API reference shows it
 * inline where `ValueTypes` uses it.
 * @inline
 */
interface KindTypes {
  /** Integer formats up to 4 bytes and the float formats read as a `number`. */
  number: number
  /** 8-byte integer formats read as a `bigint`. */
  bigint: bigint
  /** `'?'` reads as a `boolean`. */
  boolean: boolean
  /** `'c'` reads as a 1-byte `Buffer` (Python's `bytes` of length 1). */
  bytes: Buffer
}

/**
 * What an element of each format letter reads as, derived from the runtime table: `number` for
 * `b B h H i I f d e`, `bigint` for `l L q Q n N P`, `boolean` for `?`, a 1-byte `Buffer` for `c`.
 */
export type ValueTypes = { -readonly [K in keyof typeof VALUE_KINDS]: KindTypes[(typeof VALUE_KINDS)[K]] }

/**
 * What `get()`, iteration and `tolist()` give for a view of format `F`. A prefix does not change
 * the type (`'<q'` reads `bigint` like `'q'`); a format this package cannot read element-wise
 * (`'2i'` from an exporter) or a `string` gives the union {@link Value}.
 */
export type ValueOf<F extends string> = ValueTable[F]

/**
 * `ValueOf` as a lookup table rather than a conditional type, so that TypeScript sees views as
 * covariant in their format: a `MemoryView<'d'>` is assignable to a `MemoryView`.
 */
type ValueTable = { [K in FormatString]: ValueTypes[FormatCharOf<K>] } & { [format: string]: Value }

/**
 * What `set()` stores into a view of format `F`: a `number`, `bigint` or `boolean` for every format
 * but `'c'` (range and integrality are checked at run time), a 1-byte `Uint8Array` (or `Buffer`)
 * for `'c'`. A view of a union or unknown format takes either. The run time also stores any value
 * into a `'?'` view (its truthiness, as Python's `bool(v)`); the type asks for a number, bigint or
 * boolean there too, so that a mistaken store (a string, an object) is caught at compile time.
 * A lookup table, so that views stay covariant in their format (see `ValueTable`).
 */
export type StoreValueOf<F extends string> = StoreTable[F]

/** `StoreValueOf` as a lookup table, for the same reason as `ValueTable`. */
type StoreTable = {
  [K in FormatString]: FormatCharOf<K> extends 'c' ? Uint8Array : number | bigint | boolean
} & { [format: string]: number | bigint | boolean | Uint8Array }

/**
 * The instance type of `Float16Array` when the TypeScript `lib` in use declares it (`esnext` in
 * TypeScript 5.9+), else `ArrayBufferView`: the run time returns a Float16Array for `'e'` only where
 * the JavaScript engine has one.
 */
export type Float16ArrayOrView = typeof globalThis extends {
  /** The global `Float16Array` constructor, when the TypeScript `lib` declares one. */
  Float16Array: {
    /** Its prototype, whose type is the Float16Array instance type. */
    prototype: infer P
  }
}
  ? P
  : ArrayBufferView

/** The TypedArray `toTypedArray()` returns for each native format letter. */
export interface TypedArrayTypes {
  /** `'b'` (signed char): an Int8Array. */
  b: Int8Array
  /** `'B'` (unsigned char): a Buffer over the same bytes. */
  B: Buffer
  /** `'c'` (char, 1-byte bytes elements): a Buffer over the same bytes. */
  c: Buffer
  /** `'h'` (short): an Int16Array. */
  h: Int16Array
  /** `'H'` (unsigned short): a Uint16Array. */
  H: Uint16Array
  /** `'i'` (int): an Int32Array. */
  i: Int32Array
  /** `'I'` (unsigned int): a Uint32Array. */
  I: Uint32Array
  /** `'l'` (native long, 8 bytes): a BigInt64Array. */
  l: BigInt64Array
  /** `'L'` (native unsigned long, 8 bytes): a BigUint64Array. */
  L: BigUint64Array
  /** `'q'` (long long): a BigInt64Array. */
  q: BigInt64Array
  /** `'Q'` (unsigned long long): a BigUint64Array. */
  Q: BigUint64Array
  /** `'n'` (ssize_t): a BigInt64Array. */
  n: BigInt64Array
  /** `'N'` (size_t): a BigUint64Array. */
  N: BigUint64Array
  /** `'P'` (void pointer): a BigUint64Array of addresses. */
  P: BigUint64Array
  /** `'f'` (float): a Float32Array. */
  f: Float32Array
  /** `'d'` (double): a Float64Array. */
  d: Float64Array
  /** `'e'` (half float): a Float16Array where the engine has one (see {@link Float16ArrayOrView}). */
  e: Float16ArrayOrView
  /** No TypedArray holds `'?'` (it reads booleans): toTypedArray() always throws. */
  '?': never
}

/**
 * What `toTypedArray()` returns for a view of format `F`: `Buffer` for `'B'` and `'c'`,
 * `Float64Array` for `'d'`, `BigInt64Array` for `'q'`/`'l'`/`'n'`, and so on. A byte-order prefix
 * keeps the type (the call throws `ERR_MEMORYVIEW_FORMAT` at run time when the order is not this
 * machine's), except `'l'`/`'L'` with a prefix, which are 4 bytes and have no TypedArray (`never`,
 * it always throws), as `'?'`. An unknown format gives the union of all of them.
 */
export type TypedArrayOf<F extends string> = TypedArrayTable[F]

/** `TypedArrayOf` as a lookup table, for the same reason as `ValueTable`. */
type TypedArrayTable = {
  [K in FormatString]: K extends `${'<' | '>' | '=' | '!'}${'l' | 'L'}` ? never : TypedArrayTypes[FormatCharOf<K>]
} & { [format: string]: TypedArrayTypes[keyof TypedArrayTypes] }

/**
 * What `tolist()` gives below the top level: arrays of element values nested once per dimension.
 * The number of dimensions is known only at run time, so `tolist()` is typed as
 * `ValueOf<F> | NestedList<ValueOf<F>>`; narrow with `Array.isArray()` or assert the shape you know
 * (`m.tolist() as number[][]`).
 */
export type NestedList<T> = Array<T | NestedList<T>>

/**
 * The format of the view `memoryview(source)` / `new MemoryView(source)` makes: `'B'` for bytes-like
 * sources (Buffer, Uint8Array, Uint8ClampedArray, DataView, ArrayBuffer, SharedArrayBuffer, a
 * MappedFile or SharedMemory), the matching letter for each TypedArray (`Float64Array` → `'d'`),
 * the source view's own format for a MemoryView, the descriptor's literal `format` for a
 * buffer-protocol object that types it (`'B'` when it has none), and the {@link FormatString}
 * union for anything less specific (an `ArrayBufferView`, a `format: string`, `any`).
 */
export type FormatOfSource<S> = 0 extends 1 & S
  ? FormatString // `any`
  : S extends MemoryView<infer F>
  ? F
  : S extends ExternalOwner
    ? 'B'
    : S extends Uint8Array | Uint8ClampedArray | DataView | ArrayBuffer | SharedArrayBuffer
      ? 'B'
      : S extends Int8Array ? 'b'
        : S extends Int16Array ? 'h'
          : S extends Uint16Array ? 'H'
            : S extends Int32Array ? 'i'
              : S extends Uint32Array ? 'I'
                : S extends BigInt64Array ? 'q'
                  : S extends BigUint64Array ? 'Q'
                    : S extends Float32Array ? 'f'
                      : S extends Float64Array ? 'd'
                        : S extends { readonly [Symbol.toStringTag]: 'Float16Array' } ? 'e'
                          : S extends { [BUFFER_PROTOCOL](): infer D } ? DescriptorFormat<D>
                            : FormatString

/** The literal format of a buffer-protocol descriptor type, `'B'` when it has none. */
type DescriptorFormat<D> = D extends { format: infer F extends string }
  ? string extends F ? FormatString : F
  : 'format' extends keyof D ? FormatString : 'B'
