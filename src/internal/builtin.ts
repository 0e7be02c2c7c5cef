/**
 * Node's built-in modules, the cheap way. An ES `import … from 'node:fs'` builds the module's
 * ESM facade, which reads every export, getters included: for `node:fs` that loads
 * `fs/promises`, readline and the streams (~4 ms of a cold start), for `node:util` ~3 ms. Taken
 * as CommonJS, as `process.getBuiltinModule` gives it, a module loads only what it is.
 *
 * threadkit's library takes its built-ins from here, so that a fresh child or worker thread
 * loads no more of Node than its run uses. (Type-only imports of `node:…` cost nothing.)
 */
import { createRequire } from 'node:module';

type GetBuiltin = typeof process.getBuiltinModule;

/** `process.getBuiltinModule` (Node 22.3+), or a CommonJS `require` on Node 22.0–22.2. */
export const builtin: GetBuiltin =
  typeof process.getBuiltinModule === 'function' ? process.getBuiltinModule.bind(process) : (createRequire(import.meta.url) as unknown as GetBuiltin);
