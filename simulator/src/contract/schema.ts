import type { ServiceName } from './namespaces.js'

/**
 * The language the contract's messages are described in. One description per operation drives
 * the WSDL the simulator serves, the request reader that turns XML into typed arguments, and the
 * response writer, so the three cannot drift apart; the TypeScript types of the arguments and
 * the answer ({@link Read}, {@link Write}) are derived from the same description.
 */
export type SimpleType = 'string' | 'int' | 'dateTime' | 'boolean'

export interface ComplexType<Children extends readonly ElementSpec[] = readonly ElementSpec[]> {
  readonly typeName: string
  /** `common` types live in the common-types namespace; the rest in the service namespace. */
  readonly home: 'service' | 'common'
  readonly children: Children
}

export interface ElementSpec {
  readonly name: string
  readonly type: SimpleType | ComplexType
  readonly min: 0 | 1
  readonly many?: true
}

/** A mandatory element. */
export const el = <const Name extends string, const Type extends SimpleType | ComplexType>(
  name: Name,
  type: Type,
) => ({ name, type, min: 1 }) as const

/** An optional element. */
export const opt = <const Name extends string, const Type extends SimpleType | ComplexType>(
  name: Name,
  type: Type,
) => ({ name, type, min: 0 }) as const

/** A repeated element: one or more. */
export const list = <const Name extends string, const Type extends SimpleType | ComplexType>(
  name: Name,
  type: Type,
) => ({ name, type, min: 1, many: true }) as const

/** A repeated element: none or more. */
export const optList = <const Name extends string, const Type extends SimpleType | ComplexType>(
  name: Name,
  type: Type,
) => ({ name, type, min: 0, many: true }) as const

/** A named complex type with its children, in the service namespace unless `home` says `common`. */
export const complex = <const Children extends readonly ElementSpec[]>(
  typeName: string,
  children: Children,
  home: 'service' | 'common' = 'service',
): ComplexType<Children> => ({ typeName, home, children })

/** The shape of one contract operation: what the WSDL declares and the reader and writer follow. */
export interface OperationSpec<Name extends string = string> {
  readonly name: Name
  readonly service: ServiceName
  /** Writes change CA state and take part in SequenceNumber replay detection. */
  readonly write: boolean
  /** Children of `<OpRequest>`. */
  readonly request: readonly ElementSpec[]
  /** Children of `<OpResponse>` after `TransactionStatus`; all optional so errors can omit them. */
  readonly response: readonly ElementSpec[]
}

// ----- values: what the reader reads and the writer writes -----------------------------------

/** A request as the reader read it, whatever its operation: element names as keys, lists as arrays. */
export type ReadValue = string | number | boolean | ReadObject | readonly ReadValue[]
export interface ReadObject {
  readonly [name: string]: ReadValue
}

/** Values an answer is written from: absent and null elements are left out. */
export type WriteValue =
  string | number | boolean | null | undefined | WriteObject | readonly WriteValue[]
export interface WriteObject {
  readonly [name: string]: WriteValue
}

interface SimpleValues {
  readonly string: string
  readonly int: number
  readonly dateTime: string
  readonly boolean: boolean
}

type Simplify<T> = { [K in keyof T]: T[K] } & {}

/** An element's value: `Absent` is what an absent optional element may also be. */
type ValueOf<Type, Absent> = Type extends SimpleType
  ? SimpleValues[Type]
  : Type extends ComplexType<infer Children>
    ? Shape<Children, Absent>
    : never

type ElementOf<Spec extends ElementSpec, Absent> = Spec extends { readonly many: true }
  ? readonly ValueOf<Spec['type'], Absent>[]
  : ValueOf<Spec['type'], Absent>

/** Mandatory elements are there; optional ones may be left out (or be `Absent`); lists are arrays. */
type Shape<Specs extends readonly ElementSpec[], Absent> = Simplify<
  {
    readonly [Spec in Specs[number] as Spec['min'] extends 1 ? Spec['name'] : never]: ElementOf<
      Spec,
      Absent
    >
  } & {
    readonly [Spec in Specs[number] as Spec['min'] extends 1 ? never : Spec['name']]?:
      ElementOf<Spec, Absent> | Absent
  }
>

/**
 * The arguments of an operation as the reader reads them from `<OpRequest>`: a mandatory element
 * is there, an optional one may be absent, a repeated one is an array; `xs:dateTime` values are
 * ISO-8601 UTC strings.
 */
export type Read<Specs extends readonly ElementSpec[]> = Shape<Specs, never>

/** The payload of an answer as the writer writes it: an optional element may be absent or null. */
export type Write<Specs extends readonly ElementSpec[]> = Shape<Specs, null>
