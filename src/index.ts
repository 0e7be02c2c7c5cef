// threadkit's public API. Only exports live here.
export * from './errors.ts';
export * from './sync/index.ts';
export * from './shared/index.ts';
