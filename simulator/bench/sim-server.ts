import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { startSimulator, type Simulator } from '../src/create-simulator.js'
import { readMemory, sendLine, serveCommands } from './child-protocol.js'

/**
 * Benchmark child: a simulator with a silent logger. Prints a `ready` line with its URL, every
 * card id, the catalogue, its RSS right after loading and how long the start took, then serves
 * the commands of child-protocol.ts.
 *
 * Usage: node dist/simulator/bench/sim-server.js [cards] [options]   (default 100000 cards)
 *
 * - without --data: in memory, with a generated inventory of [cards] cards and STBs;
 * - --data <file>: a log store (no inventory is generated: the store holds it), with
 *   --fsync group|never (default group) and --compact-at <bytes> (default the simulator's);
 * - --data <file> --prepare: generates the inventory into a new store, compacts it (the log is
 *   then empty), closes and prints a `prepared` line instead.
 */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      data: { type: 'string' },
      fsync: { type: 'string' },
      'compact-at': { type: 'string' },
      prepare: { type: 'boolean' },
    },
  })
  const size = Number(positionals[0] ?? 100_000)
  if (!Number.isInteger(size) || size < 1) {
    throw new Error(`The card count must be a positive integer, not '${positionals[0]}'.`)
  }
  const fsync = values.fsync ?? 'group'
  if (fsync !== 'group' && fsync !== 'never') {
    throw new Error(`--fsync must be group or never, not '${fsync}'.`)
  }
  const before = readMemory()
  const started = performance.now()
  const cpuBefore = process.cpuUsage()
  if (values.prepare) {
    if (values.data === undefined) {
      throw new Error('--prepare needs --data <file>.')
    }
    const sim = await startSimulator({
      dataFile: values.data,
      fixtures: { size },
      logger: 'silent',
    })
    await sim.compact()
    await sim.close()
    sendLine({ type: 'prepared', ms: performance.now() - started })
    return
  }
  const sim = await startSimulator({
    logger: 'silent',
    ...(values.data === undefined
      ? { fixtures: { size } }
      : {
          dataFile: values.data,
          fsync,
          ...(values['compact-at'] ? { compactAtBytes: Number(values['compact-at']) } : {}),
        }),
  })
  const loadMs = performance.now() - started
  const cpu = process.cpuUsage(cpuBefore)
  const afterLoad = readMemory()
  const { total, ids } = sim.model.cardIds(0, size)
  sendLine({
    type: 'ready',
    url: sim.url,
    adminToken: sim.adminToken,
    pid: process.pid,
    loadMs,
    // CPU time of the start (all threads): what a busy machine does not stretch, unlike loadMs.
    loadCpuMs: (cpu.user + cpu.system) / 1000,
    cards: total,
    beforeLoad: before,
    afterLoad,
    products: sim.model.catalogue().map((p) => p.productId),
    cardIds: ids,
    store: sim.storeRecovery,
  })
  serveCommands(
    () => sim.close(),
    () => report(sim),
  )
}

function report(sim: Simulator): Record<string, unknown> {
  const statuses: Record<string, number> = {}
  for (const entry of sim.journal.list()) {
    const key = `${entry.operation ?? '?'} ${entry.statusCode}`
    statuses[key] = (statuses[key] ?? 0) + 1
  }
  return {
    journalStatuses: statuses,
    journalDropped: sim.journal.droppedCount(),
    model: sim.model.stats(),
    store: sim.storeStats(),
  }
}

main().catch((error: unknown) => {
  console.error('sim-server failed:', error)
  process.exit(1)
})
