// The peers' types, as far as bench/ uses them, for `npm test` on a machine where bench's own
// packages are not installed (`npm run bench` installs them; then `npm run typecheck` checks
// bench/ against their real types instead, through bench/tsconfig.json, and this file is unused).
// Keep each declaration to what the suites call, with the peers' own signatures.

declare module 'async-mutex' {
  export class Mutex {
    acquire(): Promise<() => void>;
    runExclusive<T>(fn: () => T | Promise<T>): Promise<T>;
  }
}

declare module 'await-lock' {
  export default class AwaitLock {
    acquireAsync(): Promise<void>;
    tryAcquire(): boolean;
    release(): void;
  }
}

declare module 'async-lock' {
  export default class AsyncLock {
    acquire<T>(key: string | string[], fn: () => T | Promise<T>): Promise<T>;
  }
}

declare module 'redlock' {
  import type { Redis } from 'ioredis';
  interface Lock {
    release(): Promise<unknown>;
  }
  export default class Redlock {
    constructor(clients: Iterable<Redis>, settings?: { retryCount?: number; retryDelay?: number; retryJitter?: number; driftFactor?: number });
    acquire(resources: string[], duration: number): Promise<Lock>;
  }
}

interface PeerThreadPoolOptions {
  filename: string;
  minThreads?: number;
  maxThreads?: number;
}

declare module 'piscina' {
  export class Piscina {
    constructor(options: PeerThreadPoolOptions);
    run(task: unknown, options?: { name?: string }): Promise<unknown>;
    destroy(): Promise<void>;
  }
}

declare module 'tinypool' {
  export default class Tinypool {
    constructor(options: PeerThreadPoolOptions);
    run(task: unknown, options?: { name?: string }): Promise<unknown>;
    destroy(): Promise<void>;
  }
}

declare module 'workerpool' {
  interface Pool {
    exec(method: string, params?: unknown[]): Promise<unknown>;
    terminate(force?: boolean): Promise<unknown>;
  }
  const workerpool: {
    pool(script: string, options?: { workerType?: 'auto' | 'web' | 'process' | 'thread'; minWorkers?: number; maxWorkers?: number }): Pool;
  };
  export default workerpool;
}

declare module 'poolifier' {
  export class FixedThreadPool<Data = unknown, Response = unknown> {
    constructor(numberOfThreads: number, filePath: string, options?: Record<string, unknown>);
    execute(data?: Data, name?: string): Promise<Response>;
    destroy(): Promise<void>;
  }
}

declare module 'undici' {
  import type { Writable } from 'node:stream';
  export class Agent {
    constructor(options?: { connections?: number; pipelining?: number });
    close(): Promise<void>;
  }
  export function stream(
    url: string,
    options: { method: string; dispatcher?: Agent; opaque?: unknown },
    factory: (data: { statusCode: number; headers: Record<string, string | string[] | undefined>; opaque: unknown }) => Writable,
  ): Promise<unknown>;
}
