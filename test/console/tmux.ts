/**
 * A real terminal for tests: a tmux server of the test's own (its socket in a temp dir), one session running a
 * command, keys typed with `send-keys`, the screen read with `capture-pane` (scrollback included, wrapped lines joined,
 * no colour codes). `close()` kills the server, and with it whatever still runs in it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Lines of scrollback tmux keeps and `screen()` reads. */
const HISTORY_LINES = 20_000;

export class TmuxTerminal {
  private dir = '';
  private socket = '';
  private readonly session = 'console';

  async start(command: string, env: Record<string, string>, size = { columns: 180, rows: 50 }): Promise<void> {
    this.dir = await mkdtemp(join(tmpdir(), 'gater-tmux-'));
    this.socket = join(this.dir, 'socket');
    await this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', this.session, '-x', String(size.columns), '-y', String(size.rows), command, {
      env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '/tmp', TERM: 'xterm-256color', ...env },
    });
    await this.tmux('set-option', '-t', this.session, 'history-limit', String(HISTORY_LINES));
  }

  /** Types text literally (no key names). */
  async type(text: string): Promise<void> {
    await this.tmux('send-keys', '-t', this.session, '-l', text);
  }

  /** Sends keys by name: `Enter`, `C-u`, `q`. */
  async keys(...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', this.session, ...keys);
  }

  /** Types text, then Enter. */
  async enter(text = ''): Promise<void> {
    if (text !== '') await this.type(text);
    await this.keys('Enter');
  }

  /** The whole screen with its scrollback, as text. */
  async screen(): Promise<string> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-J', '-t', this.session, '-S', `-${HISTORY_LINES}`);
    return stdout;
  }

  /** Waits until `test` holds for the screen's text (after `since` characters of it, when given). */
  async waitFor(what: string, test: RegExp | ((text: string) => boolean), timeoutMs = 15_000, since = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let text = '';
    for (;;) {
      text = (await this.screen()).slice(since);
      if (typeof test === 'function' ? test(text) : test.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; screen ends with:\n${text.slice(-2_000)}`);
      await new Promise((resolve) => setTimeout(resolve, 150));
    }
  }

  /** PIDs of the processes the session's command started (its children). */
  async children(): Promise<number[]> {
    const { stdout } = await this.tmux('display-message', '-p', '-t', this.session, '#{pane_pid}');
    const pane = Number(stdout.trim());
    const { stdout: ps } = await run('ps', ['-o', 'pid=', '--ppid', String(pane)]).catch(() => ({ stdout: '' }));
    return ps.split('\n').map((l) => Number(l.trim())).filter((n) => n > 0);
  }

  async close(): Promise<void> {
    if (this.socket === '') return;
    await this.tmux('kill-server').catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
  }

  private tmux(...args: (string | { env: Record<string, string> })[]): Promise<{ stdout: string }> {
    const last = args[args.length - 1];
    const options = typeof last === 'object' ? last : undefined;
    const words = args.filter((a): a is string => typeof a === 'string');
    return run('tmux', ['-S', this.socket, ...words], options === undefined ? {} : { env: options.env });
  }
}
