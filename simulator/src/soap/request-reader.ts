import { COMMON_TYPES_NS } from '../contract/namespaces.js'
import type { ElementSpec, ReadObject, ReadValue, SimpleType } from '../contract/schema.js'
import type { XmlElement } from './xml-input.js'

/** A schema violation: where, and what is wrong. Answered as a `soap:Client` fault. */
export class SchemaViolation extends Error {
  override readonly name = 'SchemaViolation'
}

const INT_MIN = -2147483648
const INT_MAX = 2147483647
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?$/

/** Element names whose text is kept exactly as sent; every other leaf is whitespace-trimmed. */
const VERBATIM = new Set(['Message'])

/**
 * Reads the children of `element` against `specs`: element names as keys, lists as arrays, typed
 * leaves (the shape `Read<typeof specs>` describes). Children may be unqualified, or qualified in
 * the service or common-types namespace; they may come in any order. Unknown, repeated, missing
 * and mistyped elements are schema violations.
 */
export function readChildren(
  element: XmlElement,
  specs: readonly ElementSpec[],
  serviceNs: string,
  path: string,
): ReadObject {
  const result: Record<string, ReadValue> = {}
  // The arrays of repeated elements, grown in place while `result` holds them read-only.
  let lists: Map<string, ReadValue[]> | undefined
  const seen = new Set<string>()
  if (element.text.trim() !== '') {
    throw new SchemaViolation(`${path} must hold elements, not text.`)
  }
  for (const child of element.children) {
    const childPath = `${path}/${child.local}`
    if (child.ns !== null && child.ns !== serviceNs && child.ns !== COMMON_TYPES_NS) {
      throw new SchemaViolation(
        `${childPath} is in namespace '${child.ns}'; send it unqualified or in '${serviceNs}'.`,
      )
    }
    const spec = specs.find((s) => s.name === child.local)
    if (!spec) {
      const expected = specs.map((s) => s.name).join(', ')
      throw new SchemaViolation(`${childPath} is not expected here; ${path} may hold: ${expected}.`)
    }
    if (seen.has(spec.name) && !spec.many) {
      throw new SchemaViolation(`${childPath} occurs more than once.`)
    }
    seen.add(spec.name)
    const value = readValue(child, spec, serviceNs, childPath)
    if (spec.many) {
      lists ??= new Map()
      const items = lists.get(spec.name)
      if (items) {
        items.push(value)
      } else {
        const first = [value]
        lists.set(spec.name, first)
        result[spec.name] = first
      }
    } else {
      result[spec.name] = value
    }
  }
  for (const spec of specs) {
    if (spec.min === 1 && !seen.has(spec.name)) {
      throw new SchemaViolation(`${path}/${spec.name} is missing; it is mandatory.`)
    }
  }
  return result
}

function readValue(
  element: XmlElement,
  spec: ElementSpec,
  serviceNs: string,
  path: string,
): ReadValue {
  if (typeof spec.type !== 'string') {
    return readChildren(element, spec.type.children, serviceNs, path)
  }
  if (element.children.length > 0) {
    throw new SchemaViolation(`${path} must hold text, not elements.`)
  }
  const text = VERBATIM.has(spec.name) ? element.text : element.text.trim()
  return readSimple(text, spec.type, path)
}

function readSimple(text: string, type: SimpleType, path: string): string | number | boolean {
  switch (type) {
    case 'string':
      return ownCopy(text)
    case 'int': {
      const value = /^[+-]?\d{1,10}$/.test(text) ? Number(text) : Number.NaN
      if (Number.isNaN(value) || value < INT_MIN || value > INT_MAX) {
        throw new SchemaViolation(`${path} '${text}' is not an xs:int.`)
      }
      return value
    }
    case 'boolean':
      if (text === 'true' || text === '1') {
        return true
      }
      if (text === 'false' || text === '0') {
        return false
      }
      throw new SchemaViolation(`${path} '${text}' is not an xs:boolean.`)
    case 'dateTime':
      return readDateTime(text, path)
  }
}

/** xs:dateTime to an ISO-8601 UTC string; a value without a zone is taken as UTC. */
function readDateTime(text: string, path: string): string {
  const match = DATE_TIME.exec(text)
  const millis = match ? Date.parse(match[8] ? text : `${text}Z`) : Number.NaN
  const [year, month, day] = [Number(match?.[1]), Number(match?.[2]), Number(match?.[3])]
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate()
  if (Number.isNaN(millis) || month < 1 || month > 12 || day < 1 || day > daysInMonth) {
    throw new SchemaViolation(
      `${path} '${text}' is not an xs:dateTime (e.g. 2026-11-26T10:00:00Z).`,
    )
  }
  return new Date(millis).toISOString()
}

/**
 * A string that does not share memory with the request document: V8 keeps a slice of a longer
 * string as a view onto it, so one 20-character value kept in an inbox would otherwise hold the
 * whole (up to 1 MiB) body alive.
 */
function ownCopy(text: string): string {
  return text.length < 13 ? text : Buffer.from(text, 'utf8').toString('utf8')
}
