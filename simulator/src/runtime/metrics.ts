import { Counter, Gauge, Histogram, Registry } from 'prom-client'

/**
 * The simulator's Prometheus metrics, on a registry of its own (a test process starts many
 * simulators): every SOAP call by service, operation and answer status, its latency, and the
 * size of the CA state and the journal, read when a scrape renders them.
 * @module
 */

/** What the SOAP endpoint reports of each answered call, and what `GET /metrics` answers. */
export interface SimulatorMetrics {
  readonly contentType: string
  /** Counts one answered call; `status` is the journal's (a StatusCode, FAULT:x, HTTP_x, RESET). */
  observe(service: string, operation: string | null, status: string, seconds: number): void
  /** The metrics in Prometheus' text format. */
  render(): Promise<string>
}

/** The metrics of one simulator; `sizes` is read at each scrape. */
export function createSimulatorMetrics(
  sizes: () => { readonly smartcards: number; readonly journalEntries: number },
): SimulatorMetrics {
  const registry = new Registry()
  const calls = new Counter({
    name: 'conax_sim_soap_requests_total',
    help: 'SOAP requests answered, by service, operation (unknown when it could not be read) and status (the StatusCode, FAULT:<code>, HTTP_<status> or RESET)',
    labelNames: ['service', 'operation', 'status'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'conax_sim_soap_request_duration_seconds',
    help: 'Time from the arrival of a SOAP request to its answer, by operation',
    labelNames: ['operation'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5],
    registers: [registry],
  })
  const cards = new Gauge({
    name: 'conax_sim_smartcards',
    help: 'Smartcards registered in the CA state',
    registers: [registry],
  })
  const journal = new Gauge({
    name: 'conax_sim_journal_entries',
    help: 'SOAP calls kept in the journal',
    registers: [registry],
  })
  return {
    contentType: registry.contentType,
    observe(service, operation, status, seconds) {
      const name = operation ?? 'unknown'
      calls.inc({ service, operation: name, status })
      latency.observe({ operation: name }, seconds)
    },
    async render() {
      const now = sizes()
      cards.set(now.smartcards)
      journal.set(now.journalEntries)
      return registry.metrics()
    },
  }
}
