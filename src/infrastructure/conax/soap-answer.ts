/**
 * What the answer to any of the 13 operations says, for the Conax client: a SOAP fault, an HTTP
 * error, an answer that is not the operation's, or the `<OpResponse>` as plain objects for the
 * readers of conax-answers.ts. The answer is read with the fast reader's screened saxes parser
 * ({@link readXml}: strict, namespace-aware, no DOCTYPE), and elements are recognised as the fast
 * reader recognises them, so both fail alike on the same answer.
 * @module
 */
import { readXml, type XmlNode } from './fast-reader.js'
import { serviceNamespace } from './envelope-writer.js'
import {
  classifyFaultCode,
  classifyHttpStatus,
  malformedAnswer,
  type Failure,
} from './fault-classification.js'

const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope'
const COMMON_TYPES_NS = 'http://www.conax.com/cas/xsd/common-types/v1'

/** An element's children by local name: text, nested objects, or a list of them when repeated. */
export interface AnswerObject {
  readonly [element: string]: AnswerValue
}
/** A leaf's text (null when xsi:nil), an element with children, or the repeats of one. */
export type AnswerValue = string | null | AnswerObject | readonly AnswerValue[]

/**
 * Elements of the answers that hold elements: an empty one (`<Subscriptions/>`) is an empty object,
 * where an empty leaf is the empty string.
 */
const CONTAINERS: ReadonlySet<string> = new Set([
  'TransactionStatus',
  'Subscriptions',
  'Subscription',
  'CaClientIds',
  'PairingModules',
  'PairingModule',
])

/** What an answer says: the `<OpResponse>` (to be read further), or the failure. */
export type SoapAnswer = { readonly response: AnswerObject } | { readonly failure: Failure }

const EXCERPT_CHARS = 120

function first(
  node: XmlNode,
  local: string,
  namespaces: readonly (string | null)[],
): XmlNode | undefined {
  return node.children.find((child) => child.local === local && namespaces.includes(child.ns))
}

/** The children of an element in the given namespaces, as objects keyed by local name. */
function toObject(node: XmlNode, namespaces: readonly (string | null)[]): AnswerObject {
  // No prototype: an element named __proto__ is a plain key like any other.
  const out = Object.create(null) as Record<string, AnswerValue>
  // The lists made here for repeated elements: a value that is an array is one of them.
  const lists = new Map<string, AnswerValue[]>()
  for (const child of node.children) {
    if (!namespaces.includes(child.ns)) {
      continue
    }
    const value: AnswerValue =
      child.children.length > 0 || CONTAINERS.has(child.local)
        ? toObject(child, namespaces)
        : child.nil
          ? null
          : child.text
    const list = lists.get(child.local)
    if (list) {
      list.push(value)
    } else if (Object.hasOwn(out, child.local)) {
      const repeated = [out[child.local] as AnswerValue, value]
      lists.set(child.local, repeated)
      out[child.local] = repeated
    } else {
      out[child.local] = value
    }
  }
  return out
}

/** faultcode and faultstring of a SOAP 1.1 or 1.2 Fault, by the envelope's namespace. */
function faultOf(fault: XmlNode, soapNs: string): Failure {
  if (soapNs === SOAP11_ENV) {
    const code = first(fault, 'faultcode', [null])?.text.trim() ?? ''
    const reason = first(fault, 'faultstring', [null])?.text.trim() ?? ''
    return classifyFaultCode(code, reason)
  }
  const code = first(first(fault, 'Code', [soapNs]) ?? fault, 'Value', [soapNs])
  const reason = first(first(fault, 'Reason', [soapNs]) ?? fault, 'Text', [soapNs])
  return classifyFaultCode(code?.text.trim() ?? '', reason?.text.trim() ?? '')
}

/**
 * Reads the answer to `operation` of `service`: HTTP `status` and the decoded body. A SOAP fault
 * counts whatever the status (the CA sends them with 500); another status than 200 is classified
 * by itself; a 200 must carry the SOAP 1.1 or 1.2 envelope with the `<OpResponse>` in the service
 * namespace, whose descendants may be unqualified or in the service or common-types namespace.
 */
export function readSoapAnswer(
  operation: string,
  service: string,
  status: number,
  body: string,
): SoapAnswer {
  const root = readXml(body)
  const soapNs =
    root?.local === 'Envelope' && (root.ns === SOAP11_ENV || root.ns === SOAP12_ENV)
      ? root.ns
      : null
  const soapBody = root && soapNs ? first(root, 'Body', [soapNs]) : undefined
  const fault = soapBody && soapNs ? first(soapBody, 'Fault', [soapNs]) : undefined
  if (fault && soapNs) {
    return { failure: faultOf(fault, soapNs) }
  }
  if (status !== 200) {
    return { failure: classifyHttpStatus(status, body) }
  }
  const excerpt = body.trim().slice(0, EXCERPT_CHARS) || 'an empty body'
  if (!root) {
    return {
      failure: malformedAnswer(`The answer is not well-formed XML or was refused (${excerpt}).`),
    }
  }
  const serviceNs = serviceNamespace(service)
  const response = soapBody ? first(soapBody, `${operation}Response`, [serviceNs]) : undefined
  if (!response) {
    return {
      failure: malformedAnswer(`The answer is not a SOAP ${operation}Response (${excerpt}).`),
    }
  }
  return { response: toObject(response, [null, serviceNs, COMMON_TYPES_NS]) }
}
