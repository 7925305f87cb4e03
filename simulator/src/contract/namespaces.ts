/** SOAP envelope namespaces and the Conax service namespaces of the wire contract (section 1). */
export const SOAP11_ENV = 'http://schemas.xmlsoap.org/soap/envelope/'
export const SOAP12_ENV = 'http://www.w3.org/2003/05/soap-envelope'
export const COMMON_TYPES_NS = 'http://www.conax.com/cas/xsd/common-types/v1'

/** The base path every SOAP endpoint hangs under. */
export const SERVICE_BASE_PATH = '/ca-server/webservices/caclient/'

export const SERVICE_NAMES = [
  'subscription',
  'pairing',
  'user-text-messaging',
  'fingerprint',
  'ca-pin',
] as const

export type ServiceName = (typeof SERVICE_NAMES)[number]

/** Target namespace of a service: `http://www.conax.com/cas/xsd/<service>/v1`. */
export function serviceNamespace(service: ServiceName): string {
  return `http://www.conax.com/cas/xsd/${service}/v1`
}

export type SoapVersion = '1.1' | '1.2'
