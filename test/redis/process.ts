/** A child process speaking lines on stdout, for fixtures that stand in for other machines. Stopped by its pid. */
import { spawn, type ChildProcess } from 'node:child_process';
import { isRunning, waitUntilGone } from '../helpers/processes.ts';

export class LineProcess {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  #waiters: Array<() => void> = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let buf = '';
    this.child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        this.lines.push(buf.slice(0, i));
        buf = buf.slice(i + 1);
        for (const w of this.#waiters.splice(0)) w();
      }
    });
    this.child.on('exit', () => {
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The first line (from the start) matching `re`, waiting at most `ms`. */
  async line(re: RegExp, ms = 10_000): Promise<string> {
    const deadline = Date.now() + ms;
    for (;;) {
      const hit = this.lines.find((l) => re.test(l));
      if (hit !== undefined) return hit;
      if (Date.now() > deadline) throw new Error(`no line matching ${re} within ${ms} ms; got: ${JSON.stringify(this.lines)}`);
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`process exited (${this.child.exitCode ?? this.child.signalCode}) before a line matching ${re}; got: ${JSON.stringify(this.lines)}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => (clearTimeout(t), r()));
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  signal(sig: NodeJS.Signals): void {
    process.kill(this.pid, sig);
  }

  /** Waits for the exit (at most `ms`); kills it by pid if it is still running then. */
  async exit(ms = 10_000): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await Promise.race([new Promise((r) => this.child.once('exit', r)), new Promise((r) => setTimeout(r, ms))]);
    }
    if (isRunning(this.pid)) {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
      await waitUntilGone([this.pid], 5000);
    }
    return this.child.exitCode;
  }

  async kill(): Promise<void> {
    if (isRunning(this.pid)) {
      process.kill(this.pid, 'SIGCONT');
      process.kill(this.pid, 'SIGKILL');
    }
    await this.exit(5000);
  }
}
