/**
 * How threadkit's Lua scripts (lock-scripts.ts, queue-scripts.ts) become commands on an ioredis
 * client: defined once per client, sent as EVALSHA, falling back to EVAL once per connection.
 */
import type { Redis } from 'ioredis';

/** A Lua script: how many of its arguments are keys (the rest are ARGV), and its source. */
export interface Script {
  numberOfKeys: number;
  lua: string;
}

/**
 * Defines each of `scripts` as a command of that name on `client`, unless the client has it
 * already (several objects may share a caller's client), and returns the client typed with them.
 */
export function defineScripts<Commands>(client: Redis, scripts: { [Name in keyof Commands]: Script }): Redis & Commands {
  for (const [name, script] of Object.entries<Script>(scripts)) {
    if (!(name in client)) client.defineCommand(name, script);
  }
  return client as Redis & Commands;
}
