/**
 * The shape `Process` and `Thread` share (Python: `BaseProcess` is "analogous to `threading.Thread`").
 *
 * A runnable is created with a target and arguments (or as a subclass overriding `run()`),
 * started once, and joined. Its outcome is Python's `exitcode` plus what Python only prints:
 * the error the target threw and the value it returned.
 */
import { refuseUnknownOptions } from './option-names.ts';
import { EventEmitter } from 'node:events';
import { InvalidArgumentError, InvalidStateError } from '../errors.ts';
import { assertNotBootstrapping } from './bootstrap.ts';
import { encode, type Destination } from './codec.ts';
import type { RunPlan } from './run-messages.ts';
import { describeTarget } from './target.ts';
import { checkTimeout } from './timeout.ts';
import { TRACING, traceExit, traceStart } from '../trace/hooks.ts';

export type AnyFunction = (...args: any[]) => unknown;

export interface RunnableOptions<F extends AnyFunction = AnyFunction> {
  /** An exported function (sync or async) of a module; the worker imports that very export and checks it is the same definition. */
  target?: F;
  /** Arguments for `target`; each must be cloneable, a threadkit primitive, or an instance of an exported class. */
  args?: Parameters<F>;
  /** A name for messages and `currentProcess().name`/`currentThread().name`. */
  name?: string;
  /**
   * A daemon does not keep the program alive: when the main program ends, daemons are stopped.
   * A non-daemon keeps the parent running until it ends (Python's rule). Default `false`.
   */
  daemon?: boolean;
}

type State = 'initial' | 'started' | 'stopped';

/** The longest delay `setTimeout` honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const AsyncFunction = (async () => {}).constructor;
const isAsyncFunction = (fn: unknown): boolean => fn instanceof AsyncFunction;

export abstract class Runnable<F extends AnyFunction = AnyFunction> extends EventEmitter {
  #target: F | undefined;
  #args: unknown[];
  #name: string;
  #daemon: boolean;
  #state: State = 'initial';
  #exitCode: number | null = null;
  #error: unknown = undefined;
  #result: unknown = undefined;
  #done: Promise<void>;
  #resolveDone!: () => void;

  constructor(options: RunnableOptions<F> = {}, defaultName: string) {
    super();
    if (options === null || typeof options !== 'object') {
      throw new InvalidArgumentError(`Expected an options object such as { target, args }, got ${options === null ? 'null' : typeof options}.`);
    }
    refuseUnknownOptions(options, ['target', 'args', 'name', 'daemon'], `new ${new.target.name}()`, {
      kwargs: 'there are no keyword arguments: pass an object in `args`',
      group: 'there are no thread groups (Python reserves `group` for them too)',
    });
    const { target, args = [], name, daemon = false } = options;
    if (target !== undefined && typeof target !== 'function') {
      throw new InvalidArgumentError(`Expected \`target\` to be an exported function, got ${typeof target}.`);
    }
    if (!Array.isArray(args)) {
      throw new InvalidArgumentError(`Expected \`args\` to be an array (Python's tuple), got ${typeof args}. Write \`args: [value]\`.`);
    }
    this.#target = target;
    this.#args = args;
    this.#name = name ?? defaultName;
    this.#daemon = Boolean(daemon);
    this.#done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  /** Override in a subclass to give the work inline (Python's `run()`); the default calls `target(...args)`. */
  run(): unknown {
    return this.#target?.(...this.#args);
  }

  get name(): string {
    return this.#name;
  }

  set name(value: string) {
    this.#name = String(value);
  }

  get daemon(): boolean {
    return this.#daemon;
  }

  set daemon(value: boolean) {
    if (this.#state !== 'initial') throw new InvalidStateError(`Cannot change \`daemon\` of ${this.#name} after start().`);
    this.#daemon = Boolean(value);
  }

  /**
   * `null` while running or before start; `0` when the target returned; `1` when it threw;
   * `-N` when stopped by signal N (`terminate()` gives -15, `kill()` gives -9); or the code the
   * target passed to `process.exit()`.
   */
  get exitCode(): number | null {
    return this.#exitCode;
  }

  /** What the target threw, rebuilt in this thread (name, message, the child's stack, cause, own properties); `undefined` otherwise. */
  get error(): unknown {
    return this.#error;
  }

  /** What the target returned (awaited), once it has ended with exit code 0. */
  get result(): Awaited<ReturnType<F>> | undefined {
    return this.#result as Awaited<ReturnType<F>> | undefined;
  }

  /** Whether start() was called and the run has not ended. */
  isAlive(): boolean {
    return this.#state === 'started';
  }

  /** Starts the run. Throws at once when the target or an argument cannot cross. Call it once. */
  start(): void {
    if (this.#state !== 'initial')
      throw new InvalidStateError(`${this.#name} was already started; a ${this.kindName} can be started only once. Create a new one.`);
    assertNotBootstrapping(`${this.kindName}.start() of ${this.#name}`);
    // The worker starts booting first: describing the target and encoding the arguments then
    // overlaps its boot instead of delaying it.
    this.beforePlan();
    let plan: RunPlan;
    try {
      plan = this.#plan();
    } catch (err) {
      this.planFailed();
      throw err;
    }
    this.#state = 'started';
    this.launch(plan);
    if (TRACING) traceStart(this.kindName, this.#name);
  }

  /**
   * Waits until the run ends, or until `timeoutMs` passes (then check `isAlive()`), as Python's
   * `join(timeout)`. Resolves, never rejects, for a target that threw: read `exitCode` and `error`.
   *
   * ## Timeout
   * `timeoutMs` follows threadkit's one rule (internal/timeout.ts): `undefined` or `-1` waits
   * forever, `0` only looks, another negative number or a non-number rejects with
   * `InvalidArgumentError`.
   */
  async join(timeoutMs?: number): Promise<void> {
    if (this.#state === 'initial') throw new InvalidStateError(`Cannot join ${this.#name} before it is started; call start() first.`);
    if (this.#state === 'stopped') return;
    const ms = checkTimeout(timeoutMs, `${this.kindName}.join()`);
    // Joining holds the program open, as in Python, even for a daemon (whose worker does not).
    const keepAlive = setInterval(() => {}, 1 << 30);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (ms === Infinity) return await this.#done;
      // Beyond 2^31 - 1 ms (24.8 days) Node's timers fire at once: wait that long at most.
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.min(ms, MAX_TIMER_MS))));
      await Promise.race([this.#done, timeout]);
    } finally {
      clearTimeout(timer);
      clearInterval(keepAlive);
    }
  }

  /** `await using p = new Process(…)`: waits for the run to end when the scope exits. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === 'started') await this.#done;
  }

  /** Asks the run to stop (SIGTERM for a process). */
  abstract terminate(): void;
  /** Stops the run at once (SIGKILL for a process). */
  abstract kill(): void;

  protected abstract get kindName(): string;
  protected abstract get destination(): Destination;
  protected abstract launch(plan: RunPlan): void;
  /** Called by start() before the run is planned: a subclass may start booting its worker. */
  protected beforePlan(): void {}
  /** Called when planning failed after beforePlan(): the run will not start. */
  protected planFailed(): void {}

  /** Called once by the backend when the run has ended. */
  protected finish(exitCode: number, outcome: { error?: unknown; result?: unknown } = {}): void {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#exitCode = exitCode;
    if (TRACING) traceExit(this.kindName, this.#name, exitCode);
    this.#error = outcome.error;
    this.#result = outcome.result;
    this.#resolveDone();
    this.emit('exit', exitCode);
  }

  /**
   * Whether the run needs a worker of its own: a synchronous target (not an async function) may
   * block its thread, so it shares a carrier with no other Thread (thread/scheduler.ts).
   */
  protected get exclusive(): boolean {
    return !isAsyncFunction(this.run !== Runnable.prototype.run ? this.run : this.#target);
  }

  #plan(): RunPlan {
    const dest = this.destination;
    const overridden = this.run !== Runnable.prototype.run;
    const base = { name: this.#name, daemon: this.#daemon, exclusive: this.exclusive };
    if (overridden) {
      const ref = describeTarget(this.constructor, 'class');
      const fields: Record<string, unknown> = {};
      for (const key of Object.keys(this)) fields[key] = (this as unknown as Record<string, unknown>)[key];
      // Fields inherited from EventEmitter are this thread's own business.
      for (const key of ['_events', '_eventsCount', '_maxListeners']) delete fields[key];
      return { kind: 'instance', ref, payload: encode(fields, 'this', dest), ...base };
    }
    if (!this.#target) return { kind: 'none', ...base };
    const ref = describeTarget(this.#target, 'function');
    return { kind: 'function', ref, payload: encode(this.#args, 'args', dest), ...base };
  }
}
