import { describe, expect, it } from 'vitest'
import {
  readActiveSubscriptions,
  readPairingStatus,
  readTransactionStatus,
} from './conax-answers.js'
import { readSoapAnswer } from './soap-answer.js'

// Answers to the Conax client read in process: faults, HTTP errors, namespaces, lists.

const SOAP11 = 'http://schemas.xmlsoap.org/soap/envelope/'
const SOAP12 = 'http://www.w3.org/2003/05/soap-envelope'
const PAIRING_NS = 'http://www.conax.com/cas/xsd/pairing/v1'
const SUBSCRIPTION_NS = 'http://www.conax.com/cas/xsd/subscription/v1'
const COMMON_NS = 'http://www.conax.com/cas/xsd/common-types/v1'
const XSI = 'http://www.w3.org/2001/XMLSchema-instance'

const OK_STATUS =
  '<TransactionStatus><StatusCode>OK</StatusCode><TransactionId>t-1</TransactionId><Message>done</Message></TransactionStatus>'

function envelope(body: string, soapNs = SOAP11): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${soapNs}"><soap:Body>${body}</soap:Body></soap:Envelope>`
}

function pairingAnswer(inner: string): string {
  return envelope(
    `<ns2:GetPairingStatusForCardResponse xmlns:ns2="${PAIRING_NS}">${inner}</ns2:GetPairingStatusForCardResponse>`,
  )
}

const read = (body: string, status = 200) =>
  readSoapAnswer('GetPairingStatusForCard', 'pairing', status, body)

describe('faults and HTTP errors', () => {
  it('reads a SOAP 1.1 fault whatever the HTTP status', () => {
    const fault = envelope(
      '<soap:Fault><faultcode>soap:Client</faultcode><faultstring> Bad CaClientId </faultstring></soap:Fault>',
    )
    const expected = {
      failure: {
        kind: 'REJECTED',
        errorCode: 'SOAP_CLIENT_FAULT',
        errorDescription: 'Bad CaClientId',
      },
    }
    expect(read(fault, 500)).toEqual(expected)
    expect(read(fault, 200)).toEqual(expected)
  })

  it('reads a SOAP 1.2 fault by Code/Value and Reason/Text', () => {
    const fault = envelope(
      `<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code><soap:Reason><soap:Text xml:lang="en">Couldn't parse stream.</soap:Text></soap:Reason></soap:Fault>`,
      SOAP12,
    )
    expect(read(fault, 500)).toEqual({
      failure: {
        kind: 'TRANSIENT',
        errorCode: 'SOAP_SERVER_FAULT',
        errorDescription: "Couldn't parse stream.",
      },
    })
  })

  it('takes a Fault of another namespace for no fault: the HTTP status tells', () => {
    const foreign = envelope(
      '<x:Fault xmlns:x="urn:x"><faultcode>soap:Client</faultcode></x:Fault>',
    )
    expect(read(foreign, 500)).toMatchObject({
      failure: { kind: 'TRANSIENT', errorCode: 'HTTP_500' },
    })
    expect(read(foreign, 200)).toMatchObject({ failure: { errorCode: 'MALFORMED_ANSWER' } })
  })

  it('classifies an answer that is not SOAP by its HTTP status, quoting the body', () => {
    expect(read('Missing or wrong credentials.', 401)).toEqual({
      failure: {
        kind: 'TRANSIENT',
        errorCode: 'UNAUTHORIZED',
        errorDescription: 'HTTP 401: Missing or wrong credentials.',
      },
    })
    expect(read('', 413)).toMatchObject({
      failure: { kind: 'REJECTED', errorCode: 'REQUEST_TOO_LARGE' },
    })
    expect(read(pairingAnswer(OK_STATUS), 302)).toMatchObject({
      failure: { kind: 'TRANSIENT', errorCode: 'HTTP_302' },
    })
  })

  it.each([
    [
      'HTML',
      '<html><body>Welcome to nginx</body></html>',
      /not a SOAP GetPairingStatusForCardResponse/,
    ],
    ['text', 'OK', /not well-formed/],
    ['an empty body', '', /an empty body/],
    ['a truncated envelope', pairingAnswer(OK_STATUS).slice(0, 150), /not well-formed/],
    ['a DOCTYPE', `<!DOCTYPE x [<!ENTITY e "OK">]>${pairingAnswer(OK_STATUS)}`, /not well-formed/],
    [
      'another operation',
      envelope(
        `<ns2:CreatePairingResponse xmlns:ns2="${PAIRING_NS}">${OK_STATUS}</ns2:CreatePairingResponse>`,
      ),
      /not a SOAP/,
    ],
    [
      'the wrong service namespace',
      envelope(
        `<ns2:GetPairingStatusForCardResponse xmlns:ns2="${SUBSCRIPTION_NS}">${OK_STATUS}</ns2:GetPairingStatusForCardResponse>`,
      ),
      /not a SOAP/,
    ],
    [
      'an unqualified wrapper',
      envelope(`<GetPairingStatusForCardResponse>${OK_STATUS}</GetPairingStatusForCardResponse>`),
      /not a SOAP/,
    ],
    [
      'an envelope of no SOAP version',
      `<soap:Envelope xmlns:soap="urn:x"><soap:Body><ns2:GetPairingStatusForCardResponse xmlns:ns2="${PAIRING_NS}">${OK_STATUS}</ns2:GetPairingStatusForCardResponse></soap:Body></soap:Envelope>`,
      /not a SOAP/,
    ],
  ])('a 200 with %s is MALFORMED_ANSWER', (_name, body, description) => {
    expect(read(body)).toEqual({
      failure: {
        kind: 'TRANSIENT',
        errorCode: 'MALFORMED_ANSWER',
        errorDescription: expect.stringMatching(description),
      },
    })
  })
})

describe('the response', () => {
  it('is the wrapper as objects: leaves as text, repeats as lists, empty lists as objects', () => {
    const answer = read(
      pairingAnswer(
        `${OK_STATUS}<Paired>true</Paired><CaClientIds><CaClientId>00000000042</CaClientId><CaClientId>01450253313</CaClientId></CaClientIds>` +
          '<PairingModules><PairingModule><PairingModuleId>0001</PairingModuleId><SerialNumber/></PairingModule></PairingModules>',
      ),
    )
    expect(answer).toEqual({
      response: {
        TransactionStatus: { StatusCode: 'OK', TransactionId: 't-1', Message: 'done' },
        Paired: 'true',
        CaClientIds: { CaClientId: ['00000000042', '01450253313'] },
        PairingModules: { PairingModule: { PairingModuleId: '0001', SerialNumber: '' } },
      },
    })
    const response = 'response' in answer ? answer.response : null
    expect(readTransactionStatus(response)).toEqual({
      statusCode: 'OK',
      transactionId: 't-1',
      message: 'done',
    })
    expect(readPairingStatus(response)).toEqual({
      paired: true,
      smartcardCaIds: ['00000000042', '01450253313'],
      stbs: [{ stbCaId: '0001', serialNumber: '', productCode: '', productDescription: '' }],
    })
  })

  it('reads children unqualified or in the service or common-types namespace, and skips others', () => {
    const answer = readSoapAnswer(
      'GetActiveSubscriptions',
      'subscription',
      200,
      envelope(
        `<s:GetActiveSubscriptionsResponse xmlns:s="${SUBSCRIPTION_NS}" xmlns:c="${COMMON_NS}" xmlns:x="urn:other" xmlns:xsi="${XSI}">` +
          '<c:TransactionStatus><s:StatusCode>OK</s:StatusCode><TransactionId>t-2</TransactionId><x:Message>not ours</x:Message></c:TransactionStatus>' +
          '<x:Subscriptions><Subscription><ProductId>FAKE</ProductId><StartDate>2026</StartDate></Subscription></x:Subscriptions>' +
          '<Subscriptions><Subscription><ProductId>007</ProductId><StartDate>2026-01-01</StartDate><EndDate xsi:nil="true"/></Subscription></Subscriptions>' +
          '</s:GetActiveSubscriptionsResponse>',
      ),
    )
    const response = 'response' in answer ? answer.response : null
    expect(readTransactionStatus(response)).toEqual({
      statusCode: 'OK',
      transactionId: 't-2',
      message: '',
    })
    expect(readActiveSubscriptions(response)).toEqual({
      subscriptions: [
        { serviceCaId: '007', distributor: null, startDate: '2026-01-01', endDate: null },
      ],
    })
  })

  it('reads an empty list element as no items, not as a malformed text', () => {
    const answer = readSoapAnswer(
      'GetActiveSubscriptions',
      'subscription',
      200,
      envelope(
        `<ns2:GetActiveSubscriptionsResponse xmlns:ns2="${SUBSCRIPTION_NS}">${OK_STATUS}<Subscriptions/></ns2:GetActiveSubscriptionsResponse>`,
      ),
    )
    expect(readActiveSubscriptions('response' in answer ? answer.response : null)).toEqual({
      subscriptions: [],
    })
  })

  it('keeps an element named __proto__ as a plain key', () => {
    const answer = read(pairingAnswer(`${OK_STATUS}<__proto__><Paired>true</Paired></__proto__>`))
    const response = 'response' in answer ? answer.response : {}
    expect(Object.getPrototypeOf(response)).toBeNull()
    expect(Object.keys(response)).toEqual(['TransactionStatus', '__proto__'])
    expect(readPairingStatus(response)).toBeNull()
  })
})
