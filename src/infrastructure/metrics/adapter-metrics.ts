import { performance } from 'node:perf_hooks'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import type { CaGateway, ProvisioningStore } from '../../application/ports.js'
import type { RunService } from '../../application/runs/run-service.js'

/**
 * The adapter's Prometheus metrics, on a registry of its own (several adapters may share a
 * process, as in the tests and the conformance harness): the SOAP calls delivery makes, the
 * provisioning requests still PENDING, and the progress of the run executions that are not over.
 * The gauges are read from the store and the run service when a scrape renders them, so they
 * cost nothing between scrapes.
 * @module
 */

/** States of an execution that is not over: the ones whose progress is exported. */
const ACTIVE_STATES = new Set(['RUNNING', 'STOPPING', 'DELIVERING'])

/** What `GET /metrics` answers. */
export interface AdapterMetrics {
  readonly contentType: string
  /** The metrics in Prometheus' text format. */
  render(): Promise<string>
  /** `gateway` with each call counted by request type and outcome, and timed. */
  metered(gateway: CaGateway): CaGateway
}

/** The metrics of one adapter, reading its store and runs at each scrape. */
export function createAdapterMetrics(sources: {
  readonly store: ProvisioningStore
  readonly runs: () => RunService | null
}): AdapterMetrics {
  const registry = new Registry()
  const calls = new Counter({
    name: 'conax_adapter_soap_calls_total',
    help: 'SOAP calls delivery made to the CA, by request type, outcome (COMPLETED, REJECTED, TRANSIENT) and the CA status or error code',
    labelNames: ['type', 'outcome', 'code'] as const,
    registers: [registry],
  })
  const latency = new Histogram({
    name: 'conax_adapter_soap_call_duration_seconds',
    help: 'Time from sending a SOAP call to the CA to having its outcome, by request type',
    labelNames: ['type'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  })
  const pending = new Gauge({
    name: 'conax_adapter_pending_requests',
    help: 'Provisioning requests PENDING (not yet COMPLETED or REJECTED by the CA)',
    registers: [registry],
  })
  const labels = ['run', 'execution', 'kind', 'state'] as const
  const gauge = (name: string, help: string): Gauge<(typeof labels)[number]> =>
    new Gauge({ name, help, labelNames: labels, registers: [registry] })
  const progress = gauge(
    'conax_adapter_run_progress_ratio',
    'Share of its items a run execution that is not over has processed (0 to 1; absent while the total is unknown)',
  )
  const processed = gauge(
    'conax_adapter_run_processed_items',
    'Items (subscriptions or recipients) a run execution that is not over has processed',
  )
  const failed = gauge(
    'conax_adapter_run_failed_items',
    'Items a run execution that is not over could not process',
  )
  const pendingOfRun = gauge(
    'conax_adapter_run_pending_requests',
    "Requests of a run execution that is not over still waiting for the CA's verdict",
  )

  /** Reads the store and the runs into the gauges, before a scrape renders them. */
  async function refresh(): Promise<void> {
    pending.set((await sources.store.listRequests({ lifeCycleState: 'PENDING', limit: 1 })).total)
    const runs = sources.runs()
    const executions = runs === null ? [] : await runs.executions()
    for (const run of [progress, processed, failed, pendingOfRun]) {
      run.reset()
    }
    for (const status of executions) {
      if (!ACTIVE_STATES.has(status.state)) {
        continue
      }
      const of = { run: status.runId, execution: status.id, kind: status.kind, state: status.state }
      pendingOfRun.set(of, status.progress.pendingRequests)
      processed.set(of, status.counts.processed)
      failed.set(of, status.counts.failed)
      if (status.progress.fraction !== null) {
        progress.set(of, status.progress.fraction)
      }
    }
  }

  return {
    contentType: registry.contentType,
    render: async () => {
      await refresh()
      return registry.metrics()
    },
    metered: (gateway) => ({
      async send(command, sequenceNumber) {
        const started = performance.now()
        try {
          const outcome = await gateway.send(command, sequenceNumber)
          calls.inc({
            type: command.type,
            outcome: outcome.kind,
            code: outcome.kind === 'COMPLETED' ? 'OK' : outcome.errorCode,
          })
          return outcome
        } catch (error) {
          calls.inc({ type: command.type, outcome: 'ERROR', code: 'THROWN' })
          throw error
        } finally {
          latency.observe({ type: command.type }, (performance.now() - started) / 1000)
        }
      },
    }),
  }
}
