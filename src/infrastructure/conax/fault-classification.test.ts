import { describe, expect, it } from 'vitest'
import {
  CLASSIFICATION_TABLE,
  classifyFaultCode,
  classifyHttpStatus,
  classifyNetworkError,
  classifyStatusCode,
} from './fault-classification.js'

/** What a Node HTTP request fails with when it gets no answer. */
function networkError(code: string, message = `connect ${code}`) {
  return Object.assign(new Error(message), { code, syscall: 'connect' })
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

describe('classifyNetworkError', () => {
  it.each([
    ['ECONNREFUSED', 'CONNECTION_REFUSED'],
    ['ECONNRESET', 'CONNECTION_RESET'],
    ['EPIPE', 'CONNECTION_RESET'],
    ['ENOTFOUND', 'HOST_NOT_FOUND'],
    ['EAI_AGAIN', 'HOST_NOT_FOUND'],
    ['ECONNABORTED', 'TIMEOUT'],
    ['ETIMEDOUT', 'TIMEOUT'],
    ['EHOSTUNREACH', 'NETWORK_UNREACHABLE'],
    ['CERT_HAS_EXPIRED', 'TLS_ERROR'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'TLS_ERROR'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'TLS_ERROR'],
    ['EPROTO', 'TLS_ERROR'],
    ['ENOBUFS', 'NETWORK_ERROR'],
  ])('network error %s is TRANSIENT %s', (code, errorCode) => {
    expect(classifyNetworkError(networkError(code, 'boom'))).toEqual({
      kind: 'TRANSIENT',
      errorCode,
      errorDescription: `boom (${code})`,
    })
  })

  it("takes Node's own errors without a syscall too (a socket hang up)", () => {
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })
    expect(classifyNetworkError(error)).toEqual({
      kind: 'TRANSIENT',
      errorCode: 'CONNECTION_RESET',
      errorDescription: 'socket hang up (ECONNRESET)',
    })
  })

  it('returns null for programming errors, which must propagate', () => {
    expect(
      classifyNetworkError(new TypeError("Cannot read properties of undefined (reading 'x')")),
    ).toBeNull()
    expect(classifyNetworkError(networkError('ERR_INVALID_URL'))).toBeNull()
    expect(classifyNetworkError(networkError('ERR_INVALID_ARG_TYPE'))).toBeNull()
    expect(classifyNetworkError(networkError('ERR_HTTP_INVALID_HEADER_VALUE'))).toBeNull()
    expect(classifyNetworkError('a string')).toBeNull()
    expect(classifyNetworkError(null)).toBeNull()
  })
})
