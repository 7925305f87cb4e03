import { startSimulator } from '../src/create-simulator.js'
import { readMemory, sendLine, serveCommands } from './child-protocol.js'

/**
 * Benchmark child: a simulator with a generated inventory (in-memory store, silent logger). Prints
 * a `ready` line with its URL, every card id, the catalogue and its RSS right after loading, then
 * serves the commands of child-protocol.ts.
 *
 * Usage: node dist/simulator/bench/sim-server.js [cards]   (default 100000)
 */
async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 100_000)
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`The card count must be a positive integer, not '${process.argv[2]}'.`)
  }
  const before = readMemory()
  const started = performance.now()
  const sim = await startSimulator({ fixtures: { size }, logger: 'silent' })
  const loadMs = performance.now() - started
  const afterLoad = readMemory()
  const { total, ids } = sim.model.cardIds(0, size)
  sendLine({
    type: 'ready',
    url: sim.url,
    adminToken: sim.adminToken,
    pid: process.pid,
    loadMs,
    cards: total,
    beforeLoad: before,
    afterLoad,
    products: sim.model.catalogue().map((p) => p.productId),
    cardIds: ids,
  })
  serveCommands(
    () => sim.close(),
    () => {
      const statuses: Record<string, number> = {}
      for (const entry of sim.journal.list()) {
        const key = `${entry.operation ?? '?'} ${entry.statusCode}`
        statuses[key] = (statuses[key] ?? 0) + 1
      }
      return {
        journalStatuses: statuses,
        journalDropped: sim.journal.droppedCount(),
        model: sim.model.stats(),
      }
    },
  )
}

main().catch((error: unknown) => {
  console.error('sim-server failed:', error)
  process.exit(1)
})
