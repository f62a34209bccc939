import { readFile, writeFile } from 'node:fs/promises'

import { defineConfig } from 'tsup'

// One copy of the package however it is loaded: the ES module entry re-exports the CommonJS build,
// so classes, the symbol cache and the staging set exist once in a process that both imports and
// requires the package. The ES module types re-export the CommonJS ones, so TypeScript sees one
// set of classes too.
//
// The entry loads the build with require() rather than `export * from './index.cjs'`: on Node 20 an
// error thrown while the CommonJS module loads (no binary for this platform) would escape the
// importer's try/catch as an uncaught exception. The names come from the annotation esbuild
// appends to the CommonJS build for Node's ES module loader.
const EXPORT_NAMES = /\n0 && \(module\.exports = \{([^}]*)\}\);\s*$/

function esmEntry(cjs: string): string {
  const names = EXPORT_NAMES.exec(cjs)?.[1]
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean)
  if (!names?.length) throw new Error('dist/index.cjs lacks the export annotation the ES module entry is made from')
  return [
    '// The ES module entry: the CommonJS build re-exported, so the package exists once in a process.',
    "import { createRequire } from 'node:module'",
    '',
    "const cjs = createRequire(import.meta.url)('./index.cjs')",
    '',
    `export const { ${names.join(', ')} } = cjs`,
    '',
  ].join('\n')
}

export default defineConfig({
  entry: { index: 'lib/index.ts' },
  format: ['cjs'],
  dts: true,
  shims: true,
  // No clean: the types build would clean after onSuccess had written index.d.mts. Every file in
  // dist/ is rewritten by each build, so nothing stale stays.
  clean: false,
  target: 'node20',
  outExtension: () => ({ js: '.cjs' }),
  external: [/\.\.\/index\.js$/],
  async onSuccess() {
    const cjs = await readFile('dist/index.cjs', 'utf8')
    await Promise.all([writeFile('dist/index.mjs', esmEntry(cjs)), writeFile('dist/index.d.mts', "export * from './index.js'\n")])
  },
})
