/** Architecture rules (docs/decisions/0001 and 0005), checked by `npm run deps:check`. */
module.exports = {
  forbidden: [
    {
      name: 'common-is-neutral',
      comment:
        'common/ holds what both servers share (the HTTP guard); it imports none of them (docs/decisions/0004).',
      severity: 'error',
      from: { path: '^common/' },
      to: { path: '^(src|simulator|conformance)/' },
    },
    {
      name: 'simulator-independent-of-adapter',
      severity: 'error',
      from: { path: '^simulator/' },
      to: { path: '^src/' },
    },
    {
      name: 'adapter-independent-of-simulator',
      comment:
        'They meet only on the wire contract (docs/decisions/0001); tests and benchmarks may start a simulator.',
      severity: 'error',
      from: { path: '^src/', pathNot: '(\\.test\\.ts$|test-support/|^src/bench/)' },
      to: { path: '^simulator/' },
    },
    {
      name: 'adapter-tests-use-the-simulator-surface',
      severity: 'error',
      from: { path: '^src/.*(\\.test\\.ts$|test-support/)|^src/bench/' },
      to: { path: '^simulator/', pathNot: '^simulator/src/index\\.ts$' },
    },
    {
      name: 'adapter-domain-is-pure',
      comment:
        'The CRM model, the command planner and the request entity do no I/O: they import only the domain, and zod, in which the CRM actions declare their shape (docs/decisions/0009).',
      severity: 'error',
      from: { path: '^src/domain/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^(src/domain/|node_modules/zod/)' },
    },
    {
      name: 'application-and-domain-use-ports',
      comment:
        'The application and the domain, tests included, know the infrastructure only through the ports (application/ports.ts, runs/run-ports.ts); tests get implementations from src/test-support/ (docs/decisions/0011).',
      severity: 'error',
      from: { path: '^src/(application|domain)/' },
      to: { path: '^src/infrastructure/' },
    },
    {
      name: 'api-uses-the-composition-root',
      comment:
        'The API is given its services and store by the composition root (src/create-adapter.ts) and renders any CodedError: it imports no infrastructure, tests included.',
      severity: 'error',
      from: { path: '^src/api/' },
      to: { path: '^src/infrastructure/' },
    },
    {
      name: 'simulator-model-is-pure',
      comment: 'The CA model imports only itself: no node built-ins, no packages, no I/O layers.',
      severity: 'error',
      from: { path: '^simulator/src/model/', pathNot: '(\\.test\\.ts$|/test-support/)' },
      to: { pathNot: '^simulator/src/model/' },
    },
    {
      name: 'simulator-contract-is-pure',
      severity: 'error',
      from: { path: '^simulator/src/contract/', pathNot: '\\.test\\.ts$' },
      to: { pathNot: '^simulator/src/contract/' },
    },
    {
      name: 'conformance-uses-public-surfaces',
      severity: 'error',
      from: { path: '^conformance/' },
      to: {
        path: '^(src|simulator/src)/',
        pathNot: '^(src/index\\.ts|simulator/src/index\\.ts)$',
      },
    },
    {
      name: 'production-code-does-not-import-tests',
      severity: 'error',
      from: { pathNot: '(\\.test\\.ts$|test-support/|/interop/|/bench/)' },
      to: { path: '(\\.test\\.ts$|test-support/)' },
    },
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|coverage)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default'],
    },
  },
}
