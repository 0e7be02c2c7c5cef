// threadkit's public API. Only exports live here.
export * from './errors.ts';
export * from './sync/index.ts';
export * from './shared/index.ts';
export { Process, type ProcessOptions } from './process/process.ts';
export { currentProcess, isMain, type ProcessInfo } from './process/current.ts';
export { setStartMethod, getStartMethod, type StartMethod } from './process/start-method.ts';
export { Thread, type ThreadOptions } from './thread/thread.ts';
export { currentThread, type ThreadInfo } from './thread/current.ts';
export * from './queue/index.ts';
export * from './pool/index.ts';
export { trace, traceProblems, type TraceEvent, type TraceFile, type TraceResult, type TraceStartOptions } from './trace/index.ts';
export { registerTarget } from './internal/target.ts';
export { activeChildren } from './process/children.ts';
