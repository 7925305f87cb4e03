import { TRANSACTION_STATUS_TYPE } from './common-types.js'
import { COMMON_TYPES_NS, serviceNamespace, type ServiceName } from './namespaces.js'
import type { ComplexType, ElementSpec, OperationSpec } from './schema.js'

const XSD_TYPES = {
  string: 'xs:string',
  int: 'xs:int',
  dateTime: 'xs:dateTime',
  boolean: 'xs:boolean',
}

/** The WSDL service and port names for a service path, e.g. `SubscriptionService` / `SubscriptionPort`. */
export function wsdlNames(service: ServiceName): {
  service: string
  port: string
  binding: string
} {
  const stem = service
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('')
  return { service: `${stem}Service`, port: `${stem}Port`, binding: `${stem}Binding` }
}

/** The prefix the WSDL declares for the namespace a complex type lives in. */
const NAMESPACE_PREFIX: Readonly<Record<ComplexType['home'], string>> = {
  common: 'ct',
  service: 'tns',
}

function typeRef(type: ElementSpec['type']): string {
  if (typeof type === 'string') {
    return XSD_TYPES[type]
  }
  return `${NAMESPACE_PREFIX[type.home]}:${type.typeName}`
}

function elementXml(element: ElementSpec): string {
  const occurs = `${element.min === 0 ? ' minOccurs="0"' : ''}${element.many ? ' maxOccurs="unbounded"' : ''}`
  return `<xs:element name="${element.name}" type="${typeRef(element.type)}"${occurs}/>`
}

function complexTypeXml(type: ComplexType): string {
  const children = type.children.map((child) => `          ${elementXml(child)}`).join('\n')
  return `      <xs:complexType name="${type.typeName}">
        <xs:sequence>
${children}
        </xs:sequence>
      </xs:complexType>`
}

/** Every complex type reachable from the elements, depth first, each once. */
function collectTypes(elements: readonly ElementSpec[], into: Map<string, ComplexType>): void {
  for (const element of elements) {
    if (typeof element.type !== 'string' && !into.has(element.type.typeName)) {
      into.set(element.type.typeName, element.type)
      collectTypes(element.type.children, into)
    }
  }
}

function serviceTypes(ops: readonly OperationSpec[]): {
  common: ComplexType[]
  local: ComplexType[]
} {
  const all = new Map<string, ComplexType>([
    [TRANSACTION_STATUS_TYPE.typeName, TRANSACTION_STATUS_TYPE],
  ])
  for (const op of ops) {
    collectTypes(op.request, all)
    collectTypes(op.response, all)
  }
  const types = [...all.values()]
  return {
    common: types.filter((t) => t.home === 'common'),
    local: types.filter((t) => t.home === 'service'),
  }
}

function operationElementsXml(op: OperationSpec): string {
  const request = op.request.map((child) => `            ${elementXml(child)}`).join('\n')
  const response = [
    `            <xs:element name="TransactionStatus" type="ct:TransactionStatusType"/>`,
    ...op.response.map((child) => `            ${elementXml(child)}`),
  ].join('\n')
  return `      <xs:element name="${op.name}">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="${op.name}Request" type="tns:${op.name}RequestType"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
      <xs:complexType name="${op.name}RequestType">
        <xs:sequence>
${request}
        </xs:sequence>
      </xs:complexType>
      <xs:element name="${op.name}Response">
        <xs:complexType>
          <xs:sequence>
${response}
          </xs:sequence>
        </xs:complexType>
      </xs:element>`
}

/**
 * The WSDL 1.1 (document/literal wrapped, XSD inline) of one service endpoint serving `ops`.
 * @param location the `soap:address` to advertise, e.g. `http://127.0.0.1:8280/ca-server/webservices/caclient/pairing`
 */
export function wsdlDocument(
  service: ServiceName,
  ops: readonly OperationSpec[],
  location: string,
): string {
  const tns = serviceNamespace(service)
  const names = wsdlNames(service)
  const { common, local } = serviceTypes(ops)
  const messages = ops
    .map(
      (op) => `  <wsdl:message name="${op.name}Input">
    <wsdl:part name="parameters" element="tns:${op.name}"/>
  </wsdl:message>
  <wsdl:message name="${op.name}Output">
    <wsdl:part name="parameters" element="tns:${op.name}Response"/>
  </wsdl:message>`,
    )
    .join('\n')
  const portOps = ops
    .map(
      (op) => `    <wsdl:operation name="${op.name}">
      <wsdl:input message="tns:${op.name}Input"/>
      <wsdl:output message="tns:${op.name}Output"/>
    </wsdl:operation>`,
    )
    .join('\n')
  const bindingOps = ops
    .map(
      (op) => `    <wsdl:operation name="${op.name}">
      <soap:operation soapAction="" style="document"/>
      <wsdl:input><soap:body use="literal"/></wsdl:input>
      <wsdl:output><soap:body use="literal"/></wsdl:output>
    </wsdl:operation>`,
    )
    .join('\n')
  return `<?xml version="1.0" encoding="UTF-8"?>
<wsdl:definitions name="${names.service}"
    targetNamespace="${tns}"
    xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xs="http://www.w3.org/2001/XMLSchema"
    xmlns:ct="${COMMON_TYPES_NS}"
    xmlns:tns="${tns}">
  <wsdl:types>
    <xs:schema targetNamespace="${COMMON_TYPES_NS}" elementFormDefault="unqualified"
        xmlns:ct="${COMMON_TYPES_NS}">
${common.map(complexTypeXml).join('\n')}
    </xs:schema>
    <xs:schema targetNamespace="${tns}" elementFormDefault="unqualified"
        xmlns:ct="${COMMON_TYPES_NS}" xmlns:tns="${tns}">
      <xs:import namespace="${COMMON_TYPES_NS}"/>
${[...local.map(complexTypeXml), ...ops.map(operationElementsXml)].join('\n')}
    </xs:schema>
  </wsdl:types>
${messages}
  <wsdl:portType name="${names.port}Type">
${portOps}
  </wsdl:portType>
  <wsdl:binding name="${names.binding}" type="tns:${names.port}Type">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
${bindingOps}
  </wsdl:binding>
  <wsdl:service name="${names.service}">
    <wsdl:port name="${names.port}" binding="tns:${names.binding}">
      <soap:address location="${location}"/>
    </wsdl:port>
  </wsdl:service>
</wsdl:definitions>
`
}
