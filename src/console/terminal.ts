/**
 * The console's terminal: prompts (@inquirer/prompts), a spinner while waiting (yocto-spinner), plain output, and a
 * "press any key" wait for live views. Everything goes through the given streams, so the console can run on any TTY.
 */
import { input, rawlist, Separator } from '@inquirer/prompts';
import yoctoSpinner from 'yocto-spinner';
import { hint } from './format.ts';

export interface TerminalComponents {
  input: NodeJS.ReadStream;
  output: NodeJS.WriteStream;
}

export interface Choice<T> {
  name: string;
  value: T;
  description?: string;
}

/** A heading between choices of a list. */
export function section(text: string): Separator {
  return new Separator(text);
}

/** Whether a prompt ended because the user pressed Ctrl+C (or the prompt was aborted). */
export function isPromptCancel(err: unknown): boolean {
  return err instanceof Error && (err.name === 'ExitPromptError' || err.name === 'AbortPromptError');
}

export class Terminal {
  private readonly input: NodeJS.ReadStream;
  private readonly output: NodeJS.WriteStream;
  private readonly abort = new AbortController();

  constructor(components: TerminalComponents) {
    this.input = components.input;
    this.output = components.output;
  }

  print(text = ''): void {
    this.output.write(`${text}\n`);
  }

  /** Ends the prompt on screen, if any (the console is stopping). */
  cancel(): void {
    this.abort.abort();
  }

  /** A numbered list: the user types the number (or moves with the arrows) and presses Enter. */
  choose<T>(message: string, choices: readonly (Choice<T> | Separator)[], defaultValue?: T): Promise<T> {
    return rawlist<T>(
      { message, choices: [...choices], ...(defaultValue === undefined ? {} : { default: defaultValue }) },
      this.context(),
    );
  }

  ask(message: string, options: { default?: string; validate?: (value: string) => true | string } = {}): Promise<string> {
    return input(
      {
        message,
        ...(options.default === undefined ? {} : { default: options.default }),
        ...(options.validate === undefined ? {} : { validate: options.validate }),
      },
      this.context(),
    );
  }

  /** A number within bounds, typed as text so that a wrong entry gets a message rather than a silent default. */
  async askNumber(message: string, options: { default: number; min: number; max: number; integer?: boolean }): Promise<number> {
    const text = await this.ask(message, {
      default: String(options.default),
      validate: (value) => {
        const n = Number(value.trim());
        if (value.trim() === '' || !Number.isFinite(n)) return 'type a number';
        if (options.integer === true && !Number.isInteger(n)) return 'type a whole number';
        if (n < options.min || n > options.max) return `type a number from ${options.min} to ${options.max}`;
        return true;
      },
    });
    return Number(text.trim());
  }

  /** Shows a spinner with `text` until `work` settles; returns its result or rethrows its error. */
  async spin<T>(text: string, work: Promise<T>): Promise<T> {
    const spinner = yoctoSpinner({ text, stream: this.output, handleSignals: false }).start();
    try {
      return await work;
    } finally {
      spinner.stop();
    }
  }

  /**
   * Waits for one key press and resolves with it (Ctrl+C included, as a key: it ends the live view, not the console);
   * resolves with '' when the console is stopping.
   */
  waitForKey(): Promise<string> {
    const stdin = this.input;
    return new Promise((resolve) => {
      const wasRaw = stdin.isTTY ? stdin.isRaw : false;
      if (stdin.isTTY) stdin.setRawMode(true);
      const done = (key: string): void => {
        stdin.off('data', onData);
        this.abort.signal.removeEventListener('abort', onAbort);
        if (stdin.isTTY) stdin.setRawMode(wasRaw);
        stdin.pause();
        resolve(key);
      };
      const onData = (data: Buffer): void => done(data.toString());
      const onAbort = (): void => done('');
      stdin.on('data', onData);
      this.abort.signal.addEventListener('abort', onAbort, { once: true });
      stdin.resume();
    });
  }

  hint(text: string): void {
    this.print(hint(text));
  }

  private context(): { input: NodeJS.ReadStream; output: NodeJS.WriteStream; signal: AbortSignal } {
    return { input: this.input, output: this.output, signal: this.abort.signal };
  }
}
