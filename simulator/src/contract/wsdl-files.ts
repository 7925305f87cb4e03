import { SERVICE_BASE_PATH, SERVICE_NAMES, type ServiceName } from './namespaces.js'
import { generateWsdl } from './wsdl.js'

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
