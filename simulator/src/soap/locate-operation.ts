import type { IncomingHttpHeaders } from 'node:http'
import {
  SERVICE_BASE_PATH,
  SOAP11_ENV,
  SOAP12_ENV,
  serviceNamespace,
} from '../contract/namespaces.js'
import type { Operation } from '../operations/define-operation.js'
import { operationNamed, type OperationName } from '../operations/operation-table.js'
import { faultAnswer, type Answer, type Call } from './answers.js'
import type { XmlElement } from './xml-input.js'

/**
 * Finding the operation in a parsed SOAP request: a well-shaped Envelope (optional Header, one
 * Body), one operation element of the endpoint's service in its namespace, wrapping exactly one
 * `<OpRequest>`; and a SOAPAction, when one is sent, that names the same operation. Anything else
 * is a `soap:Client` fault that names the problem.
 */

/** The one operation element inside a well-shaped Envelope; sets the call's SOAP version. */
function bodyOperation(call: Call, root: XmlElement): XmlElement | Answer {
  if (root.local !== 'Envelope' || (root.ns !== SOAP11_ENV && root.ns !== SOAP12_ENV)) {
    return faultAnswer(
      call,
      'Client',
      `The root element must be a SOAP 1.1 or 1.2 Envelope, not <${root.local}> in '${root.ns ?? ''}'.`,
    )
  }
  call.version = root.ns === SOAP12_ENV ? '1.2' : '1.1'
  const parts = root.children.map((c) => (c.ns === root.ns ? c.local : `{${c.ns ?? ''}}${c.local}`))
  const shape = parts.join(',')
  if (shape !== 'Body' && shape !== 'Header,Body') {
    return faultAnswer(
      call,
      'Client',
      `The SOAP Envelope must hold an optional Header and one Body, not ${shape || 'nothing'}.`,
    )
  }
  const body = root.children.at(-1)
  const first = body?.children[0]
  if (body?.children.length !== 1 || !first || body.text.trim() !== '') {
    return faultAnswer(call, 'Client', 'The SOAP Body must hold exactly one operation element.')
  }
  return first
}

/** The operation of the call's service that the body names, and its `<OpRequest>` element; sets the call's operation. */
export function locateOperation(
  call: Call,
  root: XmlElement,
): { operation: Operation<OperationName>; request: XmlElement } | Answer {
  const first = bodyOperation(call, root)
  if ('httpStatus' in first) {
    return first
  }
  const namespace = serviceNamespace(call.service)
  const operation = operationNamed(first.local)
  if (operation?.service !== call.service) {
    const elsewhere = operation ? ` It is served at ${SERVICE_BASE_PATH}${operation.service}.` : ''
    return faultAnswer(
      call,
      'Client',
      `${first.local} is not an operation of the ${call.service} service.${elsewhere}`,
    )
  }
  call.operation = operation.name
  if (first.ns !== namespace) {
    return faultAnswer(
      call,
      'Client',
      `${operation.name} must be in namespace '${namespace}', not '${first.ns ?? ''}'.`,
    )
  }
  const wrapper = `${operation.name}Request`
  const requests = first.children.filter(
    (c) => c.local === wrapper && (c.ns === null || c.ns === namespace),
  )
  const request = requests[0]
  if (
    requests.length !== 1 ||
    first.children.length !== 1 ||
    !request ||
    first.text.trim() !== ''
  ) {
    return faultAnswer(
      call,
      'Client',
      `${operation.name} must hold exactly one ${wrapper} element.`,
    )
  }
  return { operation, request }
}

/**
 * A SOAPAction (header, or `action` of a SOAP 1.2 Content-Type) that names another operation
 * than the body is refused; none, or an empty one, is fine (the attested client sends none).
 */
export function checkSoapAction(
  headers: IncomingHttpHeaders,
  call: Call,
  operation: string,
): Answer | null {
  const header = headers.soapaction
  const fromHeader = typeof header === 'string' ? header : undefined
  const fromType = /;\s*action\s*=\s*"?([^";]*)"?/i.exec(headers['content-type'] ?? '')?.[1]
  const action = (fromHeader ?? fromType ?? '').replace(/^"|"$/g, '').trim()
  if (action === '') {
    return null
  }
  const last = action.split(/[/#:]/).pop()
  return last === operation
    ? null
    : faultAnswer(
        call,
        'Client',
        `SOAPAction '${action}' does not match the body's operation ${operation}.`,
      )
}
