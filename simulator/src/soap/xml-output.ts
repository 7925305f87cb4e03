import { SOAP11_ENV, SOAP12_ENV, type SoapVersion } from '../contract/namespaces.js'
import type { ElementSpec, WriteObject, WriteValue } from '../contract/schema.js'

const ESCAPES: ReadonlyMap<string, string> = new Map([
  ['&', '&amp;'],
  ['<', '&lt;'],
  ['>', '&gt;'],
  ['"', '&quot;'],
])

/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  return /[&<>"]/.test(text) ? text.replace(/[&<>"]/g, (c) => ESCAPES.get(c) ?? c) : text
}

const CONTENT_TYPE: Readonly<Record<SoapVersion, string>> = {
  '1.1': 'text/xml; charset=utf-8',
  '1.2': 'application/soap+xml; charset=utf-8',
}

const ENVELOPE_NS: Readonly<Record<SoapVersion, string>> = { '1.1': SOAP11_ENV, '1.2': SOAP12_ENV }

/** SOAP 1.2's names of the fault codes. */
const FAULT_CODE_1_2: Readonly<Record<FaultCode, string>> = {
  Client: 'soap:Sender',
  Server: 'soap:Receiver',
}

/** Content-Type of an answer in this SOAP version. */
export function soapContentType(version: SoapVersion): string {
  return CONTENT_TYPE[version]
}

/** Wraps body content in a SOAP envelope of the given version. */
export function envelope(version: SoapVersion, body: string): string {
  const ns = ENVELOPE_NS[version]
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${ns}"><soap:Body>${body}</soap:Body></soap:Envelope>`
}

/** Who is at fault: SOAP 1.1 `Client`/`Server`, written `Sender`/`Receiver` in SOAP 1.2. */
export type FaultCode = 'Client' | 'Server'

/** A complete fault envelope. Built fresh for every answer; never shared. */
export function faultEnvelope(version: SoapVersion, code: FaultCode, reason: string): string {
  switch (version) {
    case '1.1':
      return envelope(
        version,
        `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(reason)}</faultstring></soap:Fault>`,
      )
    case '1.2':
      return envelope(
        version,
        `<soap:Fault><soap:Code><soap:Value>${FAULT_CODE_1_2[code]}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${escapeXml(reason)}</soap:Text></soap:Reason></soap:Fault>`,
      )
  }
}

const isList = (value: WriteValue): value is readonly WriteValue[] => Array.isArray(value)

/**
 * Writes values (the shape `Write<typeof specs>` describes) as unqualified child elements in the
 * order and shape the spec gives; absent and null values are left out.
 */
export function writeElements(specs: readonly ElementSpec[], values: WriteObject): string {
  let xml = ''
  for (const spec of specs) {
    const value = values[spec.name]
    if (value === undefined || value === null) {
      continue
    }
    for (const item of isList(value) ? value : [value]) {
      xml += writeElement(spec, item)
    }
  }
  return xml
}

function writeElement(spec: ElementSpec, value: WriteValue): string {
  if (value === undefined || value === null) {
    return ''
  }
  if (typeof spec.type === 'string') {
    return `<${spec.name}>${escapeXml(typeof value === 'object' ? '' : String(value))}</${spec.name}>`
  }
  const children = typeof value === 'object' && !isList(value) ? value : {}
  return `<${spec.name}>${writeElements(spec.type.children, children)}</${spec.name}>`
}
