import { SOAP11_ENV, SOAP12_ENV, type SoapVersion } from '../contract/namespaces.js'
import type { ElementSpec, WriteObject, WriteValue } from '../contract/schema.js'

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }

/** Escapes text for element content and attribute values. */
export function escapeXml(text: string): string {
  return /[&<>"]/.test(text) ? text.replace(/[&<>"]/g, (c) => ESCAPES[c] as string) : text
}

/** Content-Type of an answer in this SOAP version. */
export function soapContentType(version: SoapVersion): string {
  return version === '1.2' ? 'application/soap+xml; charset=utf-8' : 'text/xml; charset=utf-8'
}

/** Wraps body content in a SOAP envelope of the given version. */
export function envelope(version: SoapVersion, body: string): string {
  const ns = version === '1.2' ? SOAP12_ENV : SOAP11_ENV
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${ns}"><soap:Body>${body}</soap:Body></soap:Envelope>`
}

/** Who is at fault: SOAP 1.1 `Client`/`Server`, written `Sender`/`Receiver` in SOAP 1.2. */
export type FaultCode = 'Client' | 'Server'

/** A complete fault envelope. Built fresh for every answer; never shared. */
export function faultEnvelope(version: SoapVersion, code: FaultCode, reason: string): string {
  if (version === '1.2') {
    const value = code === 'Client' ? 'soap:Sender' : 'soap:Receiver'
    return envelope(
      version,
      `<soap:Fault><soap:Code><soap:Value>${value}</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">${escapeXml(reason)}</soap:Text></soap:Reason></soap:Fault>`,
    )
  }
  return envelope(
    version,
    `<soap:Fault><faultcode>soap:${code}</faultcode><faultstring>${escapeXml(reason)}</faultstring></soap:Fault>`,
  )
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
