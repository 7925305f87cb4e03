import { describe, expect, it } from 'vitest'
import {
  CLASSIFICATION_TABLE,
  classifyFaultCode,
  classifyHttpStatus,
  classifyStatusCode,
  classifyTransportError,
} from './fault-classification.js'

/** What node-soap rejects a SOAP fault with: an Error with the parsed envelope as `root`. */
function soapFaultError(fault: object, status = 500) {
  return Object.assign(new Error('fault'), {
    root: { Envelope: { Body: { Fault: fault } } },
    response: { status },
    body: '<soap:Envelope/>',
  })
}

/** What node-soap rejects a body that is not XML with: a plain object, `Fault` "Invalid XML". */
function notXml(status: number, body: string) {
  return {
    Fault: {
      faultcode: 500,
      faultstring: 'Invalid XML',
      detail: 'Error: Non-whitespace before first tag.',
    },
    response: { status, data: body },
    body,
  }
}

/** What axios rejects a call that got no answer with. */
function networkError(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code, isAxiosError: true })
}

describe('classifyStatusCode', () => {
  it.each([
    ['OK', 'COMPLETED'],
    ['SYSTEM_ERROR', 'TRANSIENT'],
    ['INPUT_VALIDATION_ERROR', 'REJECTED'],
    ['CLIENT_NOT_FOUND', 'REJECTED'],
    ['CLIENT_NOT_MANAGED_BY_SMS', 'REJECTED'],
    ['PAIRING_MODULE_NOT_FOUND', 'REJECTED'],
    ['PRODUCT_NOT_FOUND', 'REJECTED'],
    ['NOT_PAIRED', 'REJECTED'],
    ['FEATURE_NOT_AVAILABLE', 'REJECTED'],
    ['SOMETHING_NEW', 'REJECTED'],
    ['toString', 'REJECTED'],
  ])('%s is %s', (code, kind) => {
    expect(classifyStatusCode(code)).toBe(kind)
  })

  it('knows every status code of the contract', () => {
    expect(Object.keys(CLASSIFICATION_TABLE.statusCodes)).toHaveLength(9)
  })
})

describe('classifyFaultCode', () => {
  it.each([
    ['soap:Client', 'REJECTED', 'SOAP_CLIENT_FAULT'],
    ['Client', 'REJECTED', 'SOAP_CLIENT_FAULT'],
    ['env:Sender', 'REJECTED', 'SOAP_CLIENT_FAULT'],
    ['soap:Client.Authentication', 'REJECTED', 'SOAP_CLIENT_FAULT'],
    ['soap:VersionMismatch', 'REJECTED', 'SOAP_CLIENT_FAULT'],
    ['soap:Server', 'TRANSIENT', 'SOAP_SERVER_FAULT'],
    ['env:Receiver', 'TRANSIENT', 'SOAP_SERVER_FAULT'],
    ['x:Unheard', 'TRANSIENT', 'SOAP_SERVER_FAULT'],
  ])('%s is %s %s', (faultcode, kind, errorCode) => {
    expect(classifyFaultCode(faultcode, 'why')).toEqual({
      kind,
      errorCode,
      errorDescription: 'why',
    })
  })

  it('falls back to the faultcode when the faultstring is empty', () => {
    expect(classifyFaultCode('soap:Server', '').errorDescription).toBe('soap:Server')
  })
})

describe('classifyHttpStatus', () => {
  it.each([
    [401, 'TRANSIENT', 'UNAUTHORIZED'],
    [403, 'TRANSIENT', 'FORBIDDEN'],
    [404, 'TRANSIENT', 'HTTP_404'],
    [413, 'REJECTED', 'REQUEST_TOO_LARGE'],
    [302, 'TRANSIENT', 'HTTP_302'],
    [408, 'TRANSIENT', 'HTTP_408'],
    [429, 'TRANSIENT', 'HTTP_429'],
    [500, 'TRANSIENT', 'HTTP_500'],
    [502, 'TRANSIENT', 'HTTP_502'],
    [503, 'TRANSIENT', 'HTTP_503'],
    [200, 'TRANSIENT', 'MALFORMED_ANSWER'],
  ])('%i is %s %s', (status, kind, errorCode) => {
    expect(classifyHttpStatus(status, 'text')).toMatchObject({ kind, errorCode })
  })

  it('describes the status with the start of the body', () => {
    expect(classifyHttpStatus(503, ` ${'x'.repeat(300)}\n`).errorDescription).toBe(
      `HTTP 503: ${'x'.repeat(200)}`,
    )
    expect(classifyHttpStatus(502, null).errorDescription).toBe('HTTP 502')
  })
})

describe('classifyTransportError', () => {
  it('classifies SOAP 1.1 faults by faultcode, whatever the HTTP status', () => {
    expect(
      classifyTransportError(soapFaultError({ faultcode: 'soap:Client', faultstring: 'Bad' })),
    ).toEqual({ kind: 'REJECTED', errorCode: 'SOAP_CLIENT_FAULT', errorDescription: 'Bad' })
    expect(
      classifyTransportError(
        soapFaultError({ faultcode: 'soap:Server', faultstring: "Couldn't parse stream." }, 200),
      ),
    ).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'SOAP_SERVER_FAULT',
      errorDescription: "Couldn't parse stream.",
    })
  })

  it('reads `$value` leaves and SOAP 1.2 Code/Reason', () => {
    expect(
      classifyTransportError(
        soapFaultError({ faultcode: { $value: 'soap:Client' }, faultstring: { $value: 'x' } }),
      ),
    ).toMatchObject({ kind: 'REJECTED', errorDescription: 'x' })
    expect(
      classifyTransportError(
        soapFaultError({ Code: { Value: 'soap:Receiver' }, Reason: { Text: 'busy' } }),
      ),
    ).toEqual({ kind: 'TRANSIENT', errorCode: 'SOAP_SERVER_FAULT', errorDescription: 'busy' })
  })

  it('classifies answers that are not SOAP by their HTTP status', () => {
    expect(classifyTransportError(notXml(401, 'Missing credentials'))).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'UNAUTHORIZED',
      errorDescription: 'HTTP 401: Missing credentials',
    })
    expect(classifyTransportError(notXml(413, ''))).toMatchObject({
      kind: 'REJECTED',
      errorCode: 'REQUEST_TOO_LARGE',
    })
    expect(classifyTransportError(notXml(503, 'busy'))).toMatchObject({
      kind: 'TRANSIENT',
      errorCode: 'HTTP_503',
    })
    expect(classifyTransportError(notXml(200, '<html>'))).toMatchObject({
      kind: 'TRANSIENT',
      errorCode: 'MALFORMED_ANSWER',
    })
    const emptyBody = Object.assign(new Error('Error http status codes'), {
      response: { status: 502 },
      body: '',
    })
    expect(classifyTransportError(emptyBody)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'HTTP_502',
      errorDescription: 'HTTP 502',
    })
  })

  it.each([
    ['ECONNREFUSED', 'CONNECTION_REFUSED'],
    ['ECONNRESET', 'CONNECTION_RESET'],
    ['EPIPE', 'CONNECTION_RESET'],
    ['ENOTFOUND', 'HOST_NOT_FOUND'],
    ['EAI_AGAIN', 'HOST_NOT_FOUND'],
    ['ECONNABORTED', 'TIMEOUT'],
    ['ETIMEDOUT', 'TIMEOUT'],
    ['ERR_CANCELED', 'TIMEOUT'],
    ['EHOSTUNREACH', 'NETWORK_UNREACHABLE'],
    ['CERT_HAS_EXPIRED', 'TLS_ERROR'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_ERROR'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_ERROR'],
    ['EPROTO', 'TLS_ERROR'],
    ['ENOBUFS', 'NETWORK_ERROR'],
  ])('network error %s is TRANSIENT %s', (code, errorCode) => {
    expect(classifyTransportError(networkError(code, 'boom'))).toEqual({
      kind: 'TRANSIENT',
      errorCode,
      errorDescription: `boom (${code})`,
    })
  })

  it('takes Node system errors (with a syscall) as network errors too', () => {
    const error = Object.assign(new Error('read ECONNRESET'), {
      code: 'ECONNRESET',
      syscall: 'read',
    })
    expect(classifyTransportError(error)).toMatchObject({ errorCode: 'CONNECTION_RESET' })
  })

  it('returns null for programming errors, which must propagate', () => {
    expect(
      classifyTransportError(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBeNull()
    expect(classifyTransportError(networkError('ERR_INVALID_URL'))).toBeNull()
    expect(classifyTransportError(networkError('ERR_BAD_OPTION_VALUE'))).toBeNull()
    expect(classifyTransportError(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBeNull()
    expect(classifyTransportError('a string')).toBeNull()
    expect(classifyTransportError(null)).toBeNull()
  })
})
