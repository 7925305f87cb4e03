import { SERVICE_BASE_PATH, SERVICE_NAMES, type ServiceName } from '../contract/namespaces.js'
import { wsdlDocument } from '../contract/wsdl.js'
import { operationsOf } from './operation-table.js'

/**
 * The WSDL 1.1 (document/literal wrapped, XSD inline) of one service endpoint, from the
 * operation table.
 * @param location the `soap:address` to advertise, e.g. `http://127.0.0.1:8280/ca-server/webservices/caclient/pairing`
 */
export function generateWsdl(service: ServiceName, location: string): string {
  return wsdlDocument(service, operationsOf(service), location)
}

/** The address the shipped WSDL files advertise: the CLI's default port on localhost. */
export const SHIPPED_WSDL_BASE = 'http://localhost:8280'

/** File name and content of each shipped WSDL (`fixtures/wsdl/<service>.wsdl`). */
export function shippedWsdlFiles(): { service: ServiceName; file: string; content: string }[] {
  return SERVICE_NAMES.map((service) => ({
    service,
    file: `${service}.wsdl`,
    content: generateWsdl(service, `${SHIPPED_WSDL_BASE}${SERVICE_BASE_PATH}${service}`),
  }))
}
